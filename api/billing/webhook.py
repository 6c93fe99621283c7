# Stripe calls this: no caller to authenticate and no Origin to check; the signature is the proof.
from lib.billing.webhook import receive
from lib.http import endpoint

app = endpoint(POST=receive, csrf=False)
