"""python -m lib.credits reconcile [--user ID] | settle"""

from __future__ import annotations

import sys

from bson import ObjectId

from lib.credits.reconcile import reconcile, unsettled
from lib.credits.settle import settle

USAGE = "usage: python -m lib.credits reconcile [--user ID] | settle"


def main(argv: list[str]) -> int:
    if argv == ["settle"]:
        done = settle()
        print(f"settled: {done['refunded']} refunded, {done['recorded']} already recorded")
        return 0
    if not argv or argv[0] != "reconcile" or len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--user"):
        print(USAGE, file=sys.stderr)
        return 2
    user_id = ObjectId(argv[2]) if len(argv) == 3 else None
    problems = reconcile(user_id)
    for p in problems:
        print(f"user {p['user_id']}: balance {p['balance']} != ledger sum {p['ledger_sum']} + in flight {p['in_flight']}")
    waiting = unsettled(user_id)
    for call in waiting:
        print(f"user {call['user_id']}: call {call['use_id']} ({call['credits']} credits, {call['at']:%Y-%m-%d %H:%M:%S}) "
              "awaits settlement: run `python -m lib.credits settle`")
    print("books reconcile" if not problems else f"{len(problems)} user(s) do not reconcile")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
