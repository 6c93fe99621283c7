from lib import tokens
from lib.http import endpoint

app = endpoint(PATCH=tokens.update_for, DELETE=tokens.delete_for, auth="session")
