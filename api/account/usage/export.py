from lib import usage_export
from lib.http import endpoint

app = endpoint(GET=usage_export.export, auth="session_or_token")
