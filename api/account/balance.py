from lib.accounts import profile
from lib.http import endpoint

app = endpoint(GET=profile.balance, auth="session_or_token")
