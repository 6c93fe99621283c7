from lib import usage
from lib.http import endpoint

app = endpoint(GET=usage.summary, auth="session_or_token")
