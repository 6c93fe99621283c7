"""DELETE /api/admin/users/<id> {reason}: an administrator erases an account without its password.

For an account that should not exist (policy §9: a person under 16) or an erasure
request received by other means. The same erasure as self-deletion
(lib/accounts/deletion), in one transaction with its audit row, which names the
opaque id the person's kept records now carry, and the reason.
"""

from __future__ import annotations

import logging

from lib import db, validation
from lib.admin import audit
from lib.admin.users import target_of
from lib.errors import conflict, not_found
from lib.http import Response, load_user

log = logging.getLogger("nexuspoint.admin")


def erase(req) -> Response:
    from lib.accounts import deletion  # only this route erases: the user page's GET and PATCH don't load bcrypt, pyotp...

    reason = validation.string(validation.only(req.json(), {"reason"}), "reason", min_len=3, max_len=500)
    admin = load_user(req)
    target = target_of(req)
    if target["_id"] == admin["_id"]:
        raise conflict("cannot_change_self", "Delete your own account from Settings, with your password.")

    def apply(session):
        user = db.collection("users").find_one({"_id": target["_id"]}, session=session)
        if user is None:
            raise not_found("user")  # erased meanwhile
        anon = deletion.erase(user, session=session)
        audit.record(admin, "user.erase", anon, {"role": user.get("role", "user"), "credits": user.get("credits", 0)},
                     {"erased": True, "reason": reason}, session=session)
        return user

    user = db.transaction(apply)
    log.info("account %s erased by an administrator", user["_id"])
    deletion.forget_outside(user, req)
    return Response.empty()
