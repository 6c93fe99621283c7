from lib.admin import users
from lib.http import endpoint

app = endpoint(GET=users.detail, PATCH=users.update, auth="admin")
