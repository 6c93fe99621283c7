from lib.accounts.verification import resend
from lib.http import endpoint

app = endpoint(POST=resend, auth="session")
