"""Every setting NexusPoint reads, from the environment, read once and validated.

Each outside service has a production backend chosen by the presence of its
settings, and a local default otherwise. In production (VERCEL_ENV=production)
a missing secret is a startup error naming the variable, never a fallback.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_REQUIRED = ("MONGODB_URI", "JWT_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SENTISIGHT_API_TOKEN")
DEFAULT_PACKS = [
    {"id": "starter", "name": "Starter", "credits": 100, "price_cents": 900},
    {"id": "pro", "name": "Pro", "credits": 500, "price_cents": 3900},
    {"id": "scale", "name": "Scale", "credits": 2000, "price_cents": 12900},
]


class ConfigError(RuntimeError):
    pass


class Settings(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    production: bool
    site_url: str
    data_dir: Path
    mongodb_uri: str
    mongodb_db: str
    mongodb_timeout_ms: int
    jwt_secret: str
    cron_secret: str  # "" in production when CRON_SECRET is unset: lib.cron refuses to start then
    bcrypt_rounds: int
    stripe_secret_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    sentisight_api_token: str
    sentisight_base_url: str
    sentisight_connect_timeout: float
    sentisight_read_timeout: float
    vision_backend: str
    mail_backend: str
    mail_from: str
    aws_region: str
    admin_emails: frozenset = frozenset()
    api_rate_limit_per_minute: int = 60
    low_credit_threshold: int = 10
    signup_credits: int = 50
    ses_send_rate: int = 14  # mails per second SES accepts from the account (its default production quota)
    credit_packs: tuple = ()

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key)


def _int(env, name, default, lo, hi):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env, name, default, lo, hi):
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _choice(env, name, default, choices):
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _local_secret(data_dir: Path, name: str) -> str:
    """A secret generated once and kept in .data/, so local sessions survive restarts."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _packs(env) -> tuple:
    raw = env.get("CREDIT_PACKS", "").strip()
    if not raw:
        return tuple(DEFAULT_PACKS)
    try:
        packs = json.loads(raw)
        ok = isinstance(packs, list) and packs and all(
            isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("name"), str)
            and isinstance(p.get("credits"), int) and p["credits"] > 0
            and isinstance(p.get("price_cents"), int) and p["price_cents"] >= 50
            for p in packs
        )
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError('CREDIT_PACKS must be a JSON list of {"id", "name", "credits", "price_cents" >= 50}')
    return tuple(packs)


def _site_url(env) -> str:
    """Where links in mail and Checkout point; on Vercel its production domain if not set."""
    explicit = env.get("SITE_URL", "").strip()
    vercel_domain = env.get("VERCEL_PROJECT_PRODUCTION_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    return f"https://{vercel_domain}" if vercel_domain else "http://127.0.0.1:3000"


def load(env=None) -> Settings:
    env = os.environ if env is None else env
    production = env.get("VERCEL_ENV", "").strip() == "production"
    if production:
        missing = [name for name in PRODUCTION_REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(f"Missing required setting(s) for production: {', '.join(missing)}")
        if len(env["JWT_SECRET"].strip()) < 32:
            raise ConfigError("JWT_SECRET must be at least 32 characters in production (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    data_dir = Path(env.get("DATA_DIR", "").strip() or ROOT / ".data")
    stripe_key = env.get("STRIPE_SECRET_KEY", "").strip()
    # Pasted secrets often carry a trailing newline, which breaks signature checks.
    webhook_secret = env.get("STRIPE_WEBHOOK_SECRET", "").strip()
    if not webhook_secret and not stripe_key:
        webhook_secret = "whsec_local_" + _local_secret(data_dir, "stripe-webhook-secret")
    sentisight_token = env.get("SENTISIGHT_API_TOKEN", "").strip()
    vision_backend = _choice(env, "VISION_BACKEND", "auto", ("auto", "sentisight", "local"))
    if vision_backend == "auto":
        vision_backend = "sentisight" if sentisight_token else "local"
    # Production mails people for real; the outbox is only the local default.
    mail_backend = _choice(env, "MAIL_BACKEND", "ses" if production else "outbox", ("outbox", "ses"))
    bcrypt_rounds = _int(env, "BCRYPT_ROUNDS", 12, 4, 16)
    if production and bcrypt_rounds != 12:
        raise ConfigError("BCRYPT_ROUNDS may only be lowered outside production (the policy promises 12)")
    return Settings(
        production=production,
        site_url=_site_url(env),
        data_dir=data_dir,
        mongodb_uri=env.get("MONGODB_URI", "").strip(),
        mongodb_db=env.get("MONGODB_DB", "").strip() or "nexuspoint",
        mongodb_timeout_ms=_int(env, "MONGODB_TIMEOUT_MS", 5000, 100, 60000),
        jwt_secret=env.get("JWT_SECRET", "").strip() or _local_secret(data_dir, "jwt-secret"),
        cron_secret=env.get("CRON_SECRET", "").strip() or ("" if production else _local_secret(data_dir, "cron-secret")),
        bcrypt_rounds=bcrypt_rounds,
        stripe_secret_key=stripe_key,
        stripe_webhook_secret=webhook_secret,
        stripe_api_base=env.get("STRIPE_API_BASE", "").strip().rstrip("/"),
        sentisight_api_token=sentisight_token,
        sentisight_base_url=(env.get("SENTISIGHT_BASE_URL", "").strip() or "https://platform.sentisight.ai/api").rstrip("/"),
        sentisight_connect_timeout=_float(env, "SENTISIGHT_CONNECT_TIMEOUT", 5.0, 0.1, 30),
        sentisight_read_timeout=_float(env, "SENTISIGHT_READ_TIMEOUT", 25.0, 0.1, 25),
        vision_backend=vision_backend,
        mail_backend=mail_backend,
        mail_from=env.get("MAIL_FROM", "").strip() or "NexusPoint <no-reply@nexuspoint.ai>",
        aws_region=env.get("AWS_REGION", "").strip() or "us-east-1",
        admin_emails=frozenset(e.strip().lower() for e in env.get("ADMIN_EMAILS", "").split(",") if e.strip()),
        api_rate_limit_per_minute=_int(env, "API_RATE_LIMIT_PER_MINUTE", 60, 1, 100000),
        low_credit_threshold=_int(env, "LOW_CREDIT_THRESHOLD", 10, 0, 1000000),
        signup_credits=_int(env, "SIGNUP_CREDITS", 50, 0, 1000000),
        ses_send_rate=_int(env, "SES_SEND_RATE", 14, 1, 10000),
        credit_packs=_packs(env),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load()


def reload() -> Settings:
    """Re-read the environment (tests change it; a deployed process never does)."""
    settings.cache_clear()
    return settings()
