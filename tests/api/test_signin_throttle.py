"""The per-account sign-in throttle: failures from any number of IPs add up, and the wait grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib import db, known_networks, sessions
from lib.accounts import throttle
from tests.fixtures.accounts import PASSWORD


def attempt(anon, email, password, i):
    """One sign-in from its own IP, as a botnet would spread them."""
    return anon.post("/api/auth/login", json={"email": email, "password": password}, ip=f"10.0.{i // 250}.{i % 250 + 1}")


def counter(email) -> dict | None:
    return db.collection("ratelimits").find_one({"_id": throttle.key(email)})


def let_the_wait_pass(email) -> None:
    db.collection("ratelimits").update_one({"_id": throttle.key(email)}, {"$set": {"next_at": datetime.now(UTC) - timedelta(seconds=1)}})


def test_failures_from_many_ips_add_up_and_then_even_the_right_password_waits(anon, user):
    for i in range(throttle.FREE_FAILURES + 1):
        assert attempt(anon, user["email"], "not the password", i).error_code == "invalid_credentials"
    r = attempt(anon, user["email"], PASSWORD, 99)
    assert r.status_code == 429 and r.error_code == "rate_limited" and int(r.headers["retry-after"]) >= 1
    assert not r.cookies
    let_the_wait_pass(user["email"])
    assert attempt(anon, user["email"], PASSWORD, 100).status_code == 200
    assert counter(user["email"]) is None  # a success starts afresh


def test_the_wait_doubles_with_each_failure_up_to_five_minutes(anon, user):
    for i in range(throttle.FREE_FAILURES):
        attempt(anon, user["email"], "not the password", i)
    waits = []
    for i in range(12):
        let_the_wait_pass(user["email"])
        assert attempt(anon, user["email"], "not the password", 50 + i).error_code == "invalid_credentials"
        waits.append(int(attempt(anon, user["email"], PASSWORD, 80 + i).headers["retry-after"]))
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300]


def test_free_failures_do_not_slow_anyone_down(anon, user):
    for i in range(throttle.FREE_FAILURES - 1):
        attempt(anon, user["email"], "not the password", i)
    assert attempt(anon, user["email"], PASSWORD, 77).status_code == 200


def test_unknown_addresses_are_throttled_alike(anon):
    for i in range(throttle.FREE_FAILURES + 1):
        assert attempt(anon, "nobody@example.com", "whatever password", i).error_code == "invalid_credentials"
    assert attempt(anon, "nobody@example.com", "whatever password", 99).status_code == 429


def test_the_counter_names_no_email(anon, user):
    attempt(anon, user["email"], "not the password", 1)
    assert user["email"] not in str(list(db.collection("ratelimits").find()))


def test_deleting_the_account_forgets_its_counter(client, anon, user):
    attempt(anon, user["email"], "not the password", 1)
    assert counter(user["email"])["failures"] == 1
    assert client.delete("/api/account", json={"password": PASSWORD}).status_code == 204
    assert counter(user["email"]) is None


# --- the owner's own network -------------------------------------------------------

OWNER_IP = "192.0.2.10"


def sign_in(anon, email, password, ip):
    return anon.post("/api/auth/login", json={"email": email, "password": password}, ip=ip)


def known(user) -> list[str]:
    return [n["net"] for n in db.collection("users").find_one({"email": user["email"]}).get(known_networks.FIELD) or ()]


def strangers_lock_it(anon, user) -> None:
    for i in range(throttle.FREE_FAILURES + 1):
        attempt(anon, user["email"], "not the password", i)
    assert attempt(anon, user["email"], PASSWORD, 99).status_code == 429


def test_strangers_failures_do_not_keep_the_owner_out_of_their_own_network(new_client, anon, user):
    assert sign_in(new_client(), user["email"], PASSWORD, OWNER_IP).status_code == 200
    strangers_lock_it(anon, user)
    home = new_client()
    assert sign_in(home, user["email"], PASSWORD, "192.0.2.77").status_code == 200  # the same /24: the router's new address
    assert home.get("/api/auth/me").status_code == 200
    assert attempt(anon, user["email"], PASSWORD, 150).status_code == 429  # still waiting, everyone else
    assert counter(user["email"])["failures"] == throttle.FREE_FAILURES + 1


def test_the_owners_network_still_meets_the_per_address_limit(new_client, user):
    assert sign_in(new_client(), user["email"], PASSWORD, OWNER_IP).status_code == 200
    guesser = new_client()
    for _ in range(10):
        assert sign_in(guesser, user["email"], "not the password", OWNER_IP).error_code == "invalid_credentials"
    assert sign_in(guesser, user["email"], PASSWORD, OWNER_IP).status_code == 429


def test_a_network_unused_for_thirty_days_is_a_strangers_again(new_client, anon, user):
    assert sign_in(new_client(), user["email"], PASSWORD, OWNER_IP).status_code == 200
    assert known(user)[0] == known_networks.key(OWNER_IP)
    db.collection("users").update_one({"email": user["email"]}, {"$set": {
        f"{known_networks.FIELD}.0.at": datetime.now(UTC) - known_networks.KNOWN_FOR - timedelta(minutes=1)}})
    strangers_lock_it(anon, user)
    assert sign_in(new_client(), user["email"], PASSWORD, OWNER_IP).status_code == 429


def test_networks_are_kept_as_keyed_hashes_the_newest_ten(new_client, user):
    for i in range(12):
        assert sign_in(new_client(), user["email"], PASSWORD, f"203.0.{i}.5").status_code == 200
    names = known(user)
    assert len(names) == known_networks.KEPT and names[0] == known_networks.key("203.0.11.5")
    assert known_networks.key("203.0.0.5") not in names and known_networks.key("203.0.1.5") not in names
    assert "203.0." not in str(names) and all(len(k) == 32 for k in names)


def test_the_daily_job_forgets_networks_unused_for_thirty_days(new_client, user):
    assert sign_in(new_client(), user["email"], PASSWORD, OWNER_IP).status_code == 200
    db.collection("users").update_one({"email": user["email"]}, {"$set": {
        f"{known_networks.FIELD}.0.at": datetime.now(UTC) - known_networks.KNOWN_FOR - timedelta(minutes=1)}})
    assert sessions.forget_expired() == {"accounts": 1}
    assert known(user) == [known_networks.key("203.0.113.7")]  # sign-up's, still in use
    assert sessions.forget_expired() == {"accounts": 0}
