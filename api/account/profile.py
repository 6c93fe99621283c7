from lib.accounts import profile
from lib.http import endpoint

app = endpoint(GET=profile.get, PATCH=profile.update, auth="session")
