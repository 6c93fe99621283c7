"""API tokens: create (shown once), list, edit, pause, delete, the check each Bearer request passes,
and the expiry warnings.

A token is `np_live_` (or `np_test_` for a sandbox token) + 32 random bytes
(URL-safe base64). Only its SHA-256 is stored, with a 12-character display
prefix; the full value exists only in the response that created it (privacy
policy §1.4, §5). A token may be scoped to some models, capped in credits per
period and given an expiry date (lib/tokens/fields.py).

Modules: `check` (the Bearer check; imported by lib/http), `routes` (the
dashboard's routes), `fields` (reading and validating a token's settings),
`periods` (the UTC periods of a credit cap), `expiry` (the warning mails).
None of them imports lib/http: lib/caller.py holds what both need. Import
the module you use: this package loads none of them, so a vision call that
only needs `periods` doesn't pay for the routes and the mail they send.
"""
