from lib.accounts.login import login
from lib.http import endpoint

app = endpoint(POST=login)
