from lib import tokens
from lib.http import endpoint

app = endpoint(GET=tokens.list_for, POST=tokens.create_for, auth="session")
