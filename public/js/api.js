// The one way pages talk to the API: JSON in and out, errors turned into words,
// and a signed-out caller sent to the sign-in page.

const STATUS_WORDS = {
  0: "Can't reach NexusPoint. Check your connection and try again.",
  400: "Something in the request isn't right.",
  401: "Sign in to continue.",
  402: "You don't have enough credits for this.",
  403: "You are not allowed to do this.",
  404: "We couldn't find that.",
  409: "That conflicts with something that already exists.",
  413: "That file is too large: images can be up to 4 MB.",
  415: "That file type isn't supported. Use a JPEG, PNG, WebP, GIF or BMP image.",
  422: "The image couldn't be read. Try another file or URL.",
  429: "Too many requests. Wait a moment and try again.",
  500: "Something went wrong on our side. Try again in a moment.",
  501: "This isn't available on this server.",
  502: "The vision service answered with an error. You were not charged; try again.",
  503: "The service is temporarily unavailable. Try again in a moment.",
  504: "The vision service took too long to answer. You were not charged; try again.",
};

export class ApiError extends Error {
  constructor(status, body = {}) {
    const detail = (body && body.error) || {};
    super(detail.message || STATUS_WORDS[status] || `The server answered ${status}.`);
    this.status = status;
    this.code = detail.code || "error";
    this.field = detail.field || null;
    this.detail = detail;
  }
}

function signInUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Set while signing out: calls still in flight lose their session, and must not send
// the page to the sign-in form instead of where signing out goes.
let leaving = false;

export function leavingPage() {
  leaving = true;
}

// Shared by fetch and XHR: a parsed body on success, an ApiError otherwise.
// A signed-out caller is sent to sign in, and the call never settles: the page is going away.
function settle(status, text, { redirectOn401 }) {
  const body = parse(text);
  if (status >= 200 && status < 300) return body;
  if (status === 401 && redirectOn401) {
    if (!leaving) location.assign(signInUrl());
    return new Promise(() => {});
  }
  throw new ApiError(status, body);
}

export async function api(path, { method = "GET", body, headers = {}, redirectOn401 = true } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0);
  }
  return settle(response.status, await response.text(), { redirectOn401 });
}

async function fetchFile(path) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0);
  }
  if (!response.ok) return settle(response.status, await response.text(), { redirectOn401: true });
  return response;
}

// A file download (the body as a Blob), with the same error handling.
export async function download(path) {
  return (await fetchFile(path)).blob();
}

// A download served in pages (each names the next in `Link: <url>; rel="next"`): every page's text, in order.
export async function downloadPages(path) {
  const pages = [];
  for (let url = path; url;) {
    const response = await fetchFile(url);
    pages.push(await response.text());
    const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
    url = next ? next[1] : null;
  }
  return pages;
}

// fetch() reports no upload progress, so uploads go through XMLHttpRequest.
export function upload(path, formData, { headers = {}, onProgress, onUploaded } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.upload.onload = () => onUploaded && onUploaded();
    xhr.onerror = () => reject(new ApiError(0));
    xhr.onload = () => {
      try {
        resolve(settle(xhr.status, xhr.responseText, { redirectOn401: true }));
      } catch (error) {
        reject(error);
      }
    };
    xhr.send(formData);
  });
}
