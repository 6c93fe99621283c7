from lib.accounts.login import logout
from lib.http import endpoint

app = endpoint(POST=logout)
