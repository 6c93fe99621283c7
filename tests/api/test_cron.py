"""Scheduled functions answer only Vercel Cron's Bearer secret, and refuse to start in production without one."""

import os

import pytest

from lib import config, cron
from lib.config import ConfigError
from tests.client import Client

RUNS = []


def sample_job():
    RUNS.append(1)
    return {"done": len(RUNS)}


@pytest.fixture
def job_client(database):
    RUNS.clear()
    return Client(cron.cron_endpoint(sample_job), origin=None)


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_the_secret_runs_the_job_and_answers_its_summary(job_client):
    response = job_client.get("/api/cron/sample", headers=bearer(config.settings().cron_secret))
    assert response.status_code == 200
    assert response.json() == {"job": "sample_job", "done": 1}


@pytest.mark.parametrize("header", [None, "Bearer wrong-secret", "Basic abc", "Bearer "])
def test_anything_else_is_401_and_the_job_does_not_run(job_client, header):
    response = job_client.get("/api/cron/sample", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.error_code == "cron_unauthorized"
    assert RUNS == []


def test_only_get(job_client):
    response = job_client.post("/api/cron/sample", headers=bearer(config.settings().cron_secret))
    assert response.status_code == 405
    assert RUNS == []


def test_the_local_secret_is_generated_once_and_kept(settings):
    first = settings().cron_secret
    assert len(first) >= 32
    assert settings().cron_secret == first


def production_env(**extra):
    return {"VERCEL_ENV": "production", "MONGODB_URI": os.environ["MONGODB_URI"], "JWT_SECRET": "j" * 40, "STRIPE_SECRET_KEY": "sk_test_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x", "SENTISIGHT_API_TOKEN": "s", "BCRYPT_ROUNDS": "12", **extra}


def test_production_refuses_to_start_a_cron_function_without_cron_secret(database, settings):
    settings(**production_env(CRON_SECRET=None))
    with pytest.raises(ConfigError, match="CRON_SECRET"):
        cron.cron_endpoint(sample_job)


def test_production_with_a_secret_starts_and_checks_it(database, settings):
    settings(**production_env(CRON_SECRET="  a-long-enough-cron-secret\n"))
    app = Client(cron.cron_endpoint(sample_job), origin=None)
    assert app.get("/x", headers=bearer("a-long-enough-cron-secret")).status_code == 200
    assert app.get("/x", headers=bearer("")).status_code == 401
