from lib.accounts.twofactor import login_with_code
from lib.http import endpoint

app = endpoint(POST=login_with_code)
