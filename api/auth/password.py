from lib.accounts.credentials import change_password
from lib.http import endpoint

app = endpoint(POST=change_password, auth="session")
