from lib.accounts.login import me
from lib.http import endpoint

app = endpoint(GET=me, auth="session_or_token")
