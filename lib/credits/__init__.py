"""Every change to a credit balance, with its ledger row.

A user's `credits` always equals the sum of their ledger `delta`s plus the
debits of the calls still in flight (pending entries on the user document, see
lib/credits/calls.py); `python -m lib.credits reconcile [--user ID]` proves it
(exit 1 if not) and `python -m lib.credits settle` refunds calls whose outcome
was never recorded.

Modules: `ledger` (sign-up bonus, purchases, refunds of purchases, admin
adjustments: one transaction each), `calls` (a vision call's debit, success and
failure, without a transaction), `settle`, `reconcile`.
"""

from lib.credits.calls import Cap, Charge, TokenCreditLimit, debit, fail, succeed
from lib.credits.ledger import USER_FIELDS, InsufficientCredits, adjust, grant, log_test_call, open_account
from lib.credits.reconcile import reconcile, unsettled
from lib.credits.settle import SETTLE_AFTER, settle

__all__ = ["SETTLE_AFTER", "USER_FIELDS", "Cap", "Charge", "InsufficientCredits", "TokenCreditLimit", "adjust", "debit", "fail",
           "grant", "log_test_call", "open_account", "reconcile", "settle", "succeed", "unsettled"]
