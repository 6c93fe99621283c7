from lib.admin import erasure, users
from lib.http import endpoint

app = endpoint(GET=users.detail, PATCH=users.update, DELETE=erasure.erase, auth="admin")
