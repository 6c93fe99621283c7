from lib.admin import users
from lib.http import endpoint

app = endpoint(GET=users.search, auth="admin")
