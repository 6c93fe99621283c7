from lib.accounts import export
from lib.http import endpoint

app = endpoint(GET=export.download, auth="session")
