from lib.billing.checkout import create_for
from lib.http import endpoint

app = endpoint(POST=create_for, auth="session")
