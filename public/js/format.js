// How numbers, money and dates read on every page.

const numberFormat = new Intl.NumberFormat("en-US");
const dateFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

export function number(value) {
  return numberFormat.format(value ?? 0);
}

export function credits(value) {
  return `${number(value)} ${Math.abs(value) === 1 ? "credit" : "credits"}`;
}

export function money(cents, currency = "usd") {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: (currency || "usd").toUpperCase() }).format((cents ?? 0) / 100);
}

export function date(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "—";
}

export function dateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : "—";
}

export function percent(score) {
  return `${Math.round((score ?? 0) * 100)}%`;
}

export function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}
