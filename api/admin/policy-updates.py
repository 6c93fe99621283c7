from lib.admin import policy_updates
from lib.http import endpoint

app = endpoint(GET=policy_updates.listing, POST=policy_updates.publish, auth="admin")
