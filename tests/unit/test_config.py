"""lib.config: the local defaults, validation, and production's refusal to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lib import config
from lib.config import PRODUCTION_REQUIRED, ConfigError, load

PRODUCTION = {
    "VERCEL_ENV": "production",
    "MONGODB_URI": "mongodb+srv://user:pw@cluster0.example.mongodb.net/",
    "JWT_SECRET": "j" * 48,
    "STRIPE_SECRET_KEY": "sk_live_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "SENTISIGHT_API_TOKEN": "sentisight-token",
}


@pytest.fixture
def env(tmp_path):
    """A minimal environment whose local secrets go to a temporary DATA_DIR."""
    return {"DATA_DIR": str(tmp_path / "data")}


# -- production ----------------------------------------------------------------

def test_production_starts_with_every_secret(env):
    settings = load({**env, **PRODUCTION})
    assert settings.production is True
    assert settings.mongodb_uri == PRODUCTION["MONGODB_URI"]
    assert settings.stripe_enabled and settings.vision_backend == "sentisight"


@pytest.mark.parametrize("name", PRODUCTION_REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_production_refuses_to_start_without_a_secret_and_names_it(env, name, value):
    production = {**env, **PRODUCTION}
    if value is None:
        del production[name]
    else:
        production[name] = value
    with pytest.raises(ConfigError) as caught:
        load(production)
    message = str(caught.value)
    assert name in message
    assert all(other not in message for other in PRODUCTION_REQUIRED if other != name)


def test_production_names_every_missing_secret_at_once(env):
    with pytest.raises(ConfigError) as caught:
        load({**env, "VERCEL_ENV": "production"})
    assert all(name in str(caught.value) for name in PRODUCTION_REQUIRED)


def test_production_writes_no_local_secrets(tmp_path):
    load({**PRODUCTION, "DATA_DIR": str(tmp_path / "data")})
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("vercel_env", ["preview", "development", ""])
def test_only_vercel_production_is_production(env, vercel_env):
    settings = load({**env, "VERCEL_ENV": vercel_env})
    assert settings.production is False


def test_a_function_refuses_to_start_in_production_without_a_secret(tmp_path):
    """Importing a function file is the cold start: it fails there, naming the variable."""
    environ = {k: v for k, v in os.environ.items() if k not in PRODUCTION_REQUIRED}
    environ.update(PRODUCTION, DATA_DIR=str(tmp_path), BCRYPT_ROUNDS="12")
    del environ["STRIPE_WEBHOOK_SECRET"]
    code = "import importlib.util as u; s = u.spec_from_file_location('health', 'api/health.py'); s.loader.exec_module(u.module_from_spec(s))"
    done = subprocess.run([sys.executable, "-c", code], cwd=config.ROOT, env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "STRIPE_WEBHOOK_SECRET" in done.stderr


# -- local defaults --------------------------------------------------------------

def test_local_defaults(env):
    settings = load(env)
    assert settings.production is False
    assert settings.site_url == "http://127.0.0.1:3000"
    assert settings.mongodb_uri == "" and settings.mongodb_db == "nexuspoint"
    assert settings.mongodb_timeout_ms == 5000
    assert settings.vision_backend == "local"
    assert settings.mail_backend == "outbox"
    assert settings.stripe_enabled is False
    assert settings.sentisight_base_url == "https://platform.sentisight.ai/api"
    assert settings.signup_credits == 50
    assert settings.api_rate_limit_per_minute == 60
    assert [p["id"] for p in settings.credit_packs] == ["starter", "pro", "scale"]
    assert settings.admin_emails == frozenset()


def test_bcrypt_rounds_default_to_twelve(env):
    assert load(env).bcrypt_rounds == 12
    assert load({**env, **PRODUCTION}).bcrypt_rounds == 12


def test_bcrypt_rounds_may_be_lowered_outside_production(env):
    assert load({**env, "BCRYPT_ROUNDS": "4"}).bcrypt_rounds == 4


@pytest.mark.parametrize("rounds", ["4", "10", "13"])
def test_production_refuses_bcrypt_rounds_other_than_twelve(env, rounds):
    with pytest.raises(ConfigError, match="BCRYPT_ROUNDS"):
        load({**env, **PRODUCTION, "BCRYPT_ROUNDS": rounds})
    assert load({**env, **PRODUCTION, "BCRYPT_ROUNDS": "12"}).bcrypt_rounds == 12


def test_local_jwt_secret_is_generated_once_and_kept(env, tmp_path):
    first = load(env).jwt_secret
    assert len(first) >= 32
    assert load(env).jwt_secret == first
    secret_file = tmp_path / "data" / "jwt-secret"
    assert secret_file.read_text() == first
    assert secret_file.stat().st_mode & 0o077 == 0


def test_local_webhook_secret_is_generated_when_stripe_is_not_configured(env):
    secret = load(env).stripe_webhook_secret
    assert secret.startswith("whsec_local_")
    assert load(env).stripe_webhook_secret == secret


def test_no_local_webhook_secret_next_to_a_real_stripe_key(env):
    assert load({**env, "STRIPE_SECRET_KEY": "sk_test_x"}).stripe_webhook_secret == ""


@pytest.mark.parametrize("pasted", ["whsec_abc\n", "whsec_abc\r\n", "  whsec_abc  \n"])
def test_webhook_secret_is_stripped(env, pasted):
    assert load({**env, "STRIPE_WEBHOOK_SECRET": pasted}).stripe_webhook_secret == "whsec_abc"
    assert load({**env, **PRODUCTION, "STRIPE_WEBHOOK_SECRET": pasted}).stripe_webhook_secret == "whsec_abc"


def test_explicit_settings_win(env):
    settings = load({
        **env,
        "SITE_URL": "https://nexuspoint.example/",
        "MONGODB_DB": "other",
        "VISION_BACKEND": "LOCAL",
        "SENTISIGHT_API_TOKEN": "t",
        "ADMIN_EMAILS": " Ada@Example.com , ,bob@example.com",
        "SIGNUP_CREDITS": "0",
        "CREDIT_PACKS": '[{"id": "one", "name": "One", "credits": 10, "price_cents": 100}]',
    })
    assert settings.site_url == "https://nexuspoint.example"
    assert settings.mongodb_db == "other"
    assert settings.vision_backend == "local"
    assert settings.admin_emails == frozenset({"ada@example.com", "bob@example.com"})
    assert settings.signup_credits == 0
    assert settings.credit_packs == ({"id": "one", "name": "One", "credits": 10, "price_cents": 100},)


def test_vision_backend_follows_the_sentisight_token(env):
    assert load({**env, "SENTISIGHT_API_TOKEN": "t"}).vision_backend == "sentisight"
    assert load(env).vision_backend == "local"


# -- validation ------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value", "says"), [
    ("BCRYPT_ROUNDS", "twelve", "whole number"),
    ("BCRYPT_ROUNDS", "3", "between 4 and 16"),
    ("BCRYPT_ROUNDS", "17", "between 4 and 16"),
    ("MONGODB_TIMEOUT_MS", "5s", "whole number"),
    ("MONGODB_TIMEOUT_MS", "10", "between"),
    ("API_RATE_LIMIT_PER_MINUTE", "0", "between"),
    ("SIGNUP_CREDITS", "-1", "between"),
    ("SENTISIGHT_READ_TIMEOUT", "soon", "number"),
    ("SENTISIGHT_READ_TIMEOUT", "60", "between"),
    ("SENTISIGHT_CONNECT_TIMEOUT", "0", "between"),
    ("VISION_BACKEND", "gpu", "auto, sentisight, local"),
    ("MAIL_BACKEND", "smtp", "outbox, ses"),
    ("CREDIT_PACKS", "not json", "CREDIT_PACKS"),
    ("CREDIT_PACKS", "[]", "CREDIT_PACKS"),
    ("CREDIT_PACKS", '[{"id": "x", "name": "X", "credits": 10, "price_cents": 10}]', "price_cents"),
    ("CREDIT_PACKS", '[{"id": "x", "name": "X", "credits": 0, "price_cents": 100}]', "credits"),
])
def test_invalid_values_are_refused_naming_the_variable(env, name, value, says):
    with pytest.raises(ConfigError) as caught:
        load({**env, name: value})
    assert name in str(caught.value) and says in str(caught.value)


# -- read once ---------------------------------------------------------------------

def test_settings_are_read_once_and_reload_rereads(settings):
    assert config.settings() is config.settings()
    before = config.settings()
    after = settings(SIGNUP_CREDITS="7")
    assert before.signup_credits == 50 and after.signup_credits == 7
    assert config.settings() is after


def test_production_refuses_a_short_jwt_secret():
    env = {**PRODUCTION, "JWT_SECRET": "short"}
    with pytest.raises(config.ConfigError, match="JWT_SECRET"):
        config.load(env)
