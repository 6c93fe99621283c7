"""`python -m lib.accounts promote EMAIL`: make an existing account an administrator."""

import sys

from lib import db


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "promote":
        print("usage: python -m lib.accounts promote EMAIL", file=sys.stderr)
        return 2
    email = argv[1].strip().lower()
    result = db.collection("users").update_one({"email": email}, {"$set": {"role": "admin"}})
    if not result.matched_count:
        print(f"no account with email {email}", file=sys.stderr)
        return 1
    print(f"{email} is now an administrator")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
