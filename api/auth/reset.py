from lib.accounts.credentials import reset
from lib.http import endpoint

app = endpoint(POST=reset)
