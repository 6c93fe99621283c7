from lib.http import endpoint
from lib.tokens import routes

app = endpoint(PATCH=routes.update_for, DELETE=routes.delete_for, auth="session")
