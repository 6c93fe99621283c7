from lib.accounts.twofactor import status
from lib.http import endpoint

app = endpoint(GET=status, auth="session")
