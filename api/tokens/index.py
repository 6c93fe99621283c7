from lib.http import endpoint
from lib.tokens import routes

app = endpoint(GET=routes.list_for, POST=routes.create_for, auth="session")
