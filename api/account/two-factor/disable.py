from lib.accounts.twofactor import disable
from lib.http import endpoint

app = endpoint(POST=disable, auth="session")
