from lib.accounts.verification import verify
from lib.http import endpoint

app = endpoint(POST=verify)
