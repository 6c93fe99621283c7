"""API tokens, their hashes, password hashes, passwords, session and reset tokens: never in a response body,
a header (other than the Set-Cookie that carries a session), a request log row or a log record.

One busy life of an account, as its owner, an attacker and an administrator
see it, with every answer kept; then everything is searched for every secret.
The one exception is the response that creates a token: it shows the token once.
"""

from __future__ import annotations

import logging
import re
from http.cookies import SimpleCookie

from bson import ObjectId

from lib import db, sessions
from lib.tokens import check
from tests.client import Client
from tests.fixtures.accounts import PASSWORD, make_admin, sign_up
from tests.fixtures.sentisight import image_bytes
from tests.reliability.support import vision_call

NEW_PASSWORD = "a second secret passphrase"
RESET_PASSWORD = "a third secret passphrase"


class Recording(Client):
    """A client that keeps every answer it got."""

    def __init__(self, app, seen: list, **kw):
        super().__init__(app, **kw)
        self.seen = seen

    def request(self, method, path, **kw):
        result = super().request(method, path, **kw)
        self.seen.append((f"{method} {path}", result))
        return result


def session_values(results) -> set[str]:
    values = set()
    for _, r in results:
        for raw in r.cookies:
            jar = SimpleCookie()
            jar.load(raw)
            values |= {m.value for name, m in jar.items() if name == sessions.COOKIE_NAME and m.value}
    return values


def live_an_account(router, seen: list) -> dict:
    """Sign up, make and use tokens, look at everything, change and reset the password, administer."""
    owner, stranger, admin = (Recording(router, seen) for _ in range(3))
    user = sign_up(owner)
    admin_user = sign_up(admin)
    make_admin(admin_user["email"])
    secrets = {}
    for name in ("ci", "laptop"):
        created = owner.post("/api/tokens", json={"name": name})
        secrets[created.json()["token"]["secret"]] = created
    first, second = list(secrets)
    owner.patch(f"/api/tokens/{secrets[first].json()['token']['id']}", json={"name": "ci (renamed)", "active": True})
    vision_call(stranger, token=first)
    vision_call(stranger, token=first + "x")
    stranger.get("/api/auth/me", headers={"authorization": f"Bearer {second}"})
    stranger.get("/api/tokens", headers={"authorization": f"Bearer {second}"})
    stranger.post("/api/vision/object-detection", data=image_bytes(), headers={"content-type": "image/png"}, query={"token": second})
    vision_call(owner)
    for path in ("/api/auth/me", "/api/account/profile", "/api/tokens", "/api/account/usage", "/api/account/usage/calls",
                 "/api/account/export", "/api/account/balance", "/api/billing/transactions"):
        owner.get(path)
    stranger.post("/api/auth/login", json={"email": user["email"], "password": "not it"})
    owner.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    stranger.post("/api/auth/forgot", json={"email": user["email"]})
    mail = db.collection("outbox").find_one({"to": user["email"], "template": "password_reset"})
    reset_token = re.search(r"token=([\w%-]+)", mail["text"]).group(1)
    stranger.post("/api/auth/reset", json={"token": reset_token, "new_password": RESET_PASSWORD})
    stranger.post("/api/auth/reset", json={"token": reset_token, "new_password": RESET_PASSWORD})
    stranger.post("/api/auth/login", json={"email": user["email"], "password": RESET_PASSWORD})
    for path in ("/api/admin/users", f"/api/admin/users?q={user['email']}", f"/api/admin/users/{user['id']}", "/api/admin/audit",
                 "/api/admin/stats", "/api/admin/payments"):
        admin.get(path)
    admin.patch(f"/api/admin/users/{user['id']}", json={"disabled": False})
    owner.delete(f"/api/tokens/{secrets[second].json()['token']['id']}")
    return {"user": user, "tokens": secrets, "reset_token": reset_token}


def test_no_secret_in_any_response_header_request_log_or_log_record(router, database, sentisight, caplog, robustness):
    caplog.set_level(logging.INFO)  # what the dev server logs; DEBUG would add the database driver's own traces
    seen: list = []
    life = live_an_account(router, seen)
    user_doc = db.collection("users").find_one({"_id": ObjectId(life["user"]["id"])})
    secrets = {
        **{f"API token {t[:12]}": t for t in life["tokens"]},
        **{f"token hash {t[:12]}": check.digest(t) for t in life["tokens"]},
        "password hash": user_doc["password_hash"],
        "bcrypt salt": user_doc["password_hash"][:29],
        "password": PASSWORD, "changed password": NEW_PASSWORD, "reset password": RESET_PASSWORD,
        "reset token": life["reset_token"],
        **{f"session {s[-8:]}": s for s in session_values(seen)},
    }
    creation = {id(r) for r in life["tokens"].values()}

    def leaks(text: str, allowed: set[str] = frozenset()) -> list[str]:
        return [name for name, value in secrets.items() if value in text and name not in allowed]

    found = []
    for label, r in seen:
        allowed = {f"API token {t[:12]}" for t, created in life["tokens"].items() if created is r}
        headers = " ".join(f"{k}: {v}" for k, v in r.header_list if k.lower() != "set-cookie")
        found += [(label, name) for name in leaks(r.body.decode(errors="replace") + headers, allowed)]
    found += [("request_log", name) for row in db.collection("request_log").find() for name in leaks(repr(row))]
    found += [(f"log {rec.name}", name) for rec in caplog.records for name in leaks(rec.getMessage() + (rec.exc_text or ""))]

    statuses = {}
    for label, r in seen:
        statuses.setdefault(label, []).append(r.status_code)
    # The life went as written: the reset link worked once, the new password signs in, the admin saw the account.
    assert statuses["POST /api/auth/reset"] == [204, 400] and statuses["POST /api/auth/login"] == [401, 200]
    assert statuses[f"GET /api/admin/users/{life['user']['id']}"] == [200] and statuses["POST /api/auth/password"] == [204]
    robustness.add("auth attacks", cases=len(seen), server_errors=sum(r.status_code >= 500 for _, r in seen))
    assert len(seen) > 30 and len(creation) == 2 and db.collection("request_log").count_documents({}) >= len(seen)
    assert found == []
    # Each token was shown exactly once, in the answer that created it.
    assert all(sum(t in r.text for _, r in seen) == 1 for t in life["tokens"])
