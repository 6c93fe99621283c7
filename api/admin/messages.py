from lib.admin import lists
from lib.http import endpoint

app = endpoint(GET=lists.messages, auth="admin")
