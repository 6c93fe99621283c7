from lib.accounts.email_change import request_change
from lib.http import endpoint

app = endpoint(POST=request_change, auth="session")
