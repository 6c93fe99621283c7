from lib.accounts.twofactor import enable
from lib.http import endpoint

app = endpoint(POST=enable, auth="session")
