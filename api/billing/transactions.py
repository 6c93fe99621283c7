from lib.billing.transactions import list_for
from lib.http import endpoint

app = endpoint(GET=list_for, auth="session")
