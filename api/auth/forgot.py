from lib.accounts.credentials import forgot
from lib.http import endpoint

app = endpoint(POST=forgot)
