from lib import alerts
from lib.http import endpoint

app = endpoint(GET=alerts.get, PATCH=alerts.update, auth="session")
