from lib.admin import audit
from lib.http import endpoint

app = endpoint(GET=audit.listing, auth="admin")
