from lib.accounts.signup import register
from lib.http import endpoint

app = endpoint(POST=register)
