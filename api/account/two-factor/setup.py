from lib.accounts.twofactor import setup
from lib.http import endpoint

app = endpoint(POST=setup, auth="session")
