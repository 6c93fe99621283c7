from lib import usage
from lib.http import endpoint

app = endpoint(GET=usage.calls, auth="session_or_token")
