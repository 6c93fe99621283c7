from lib.accounts import notices
from lib.http import endpoint

app = endpoint(GET=notices.pending, POST=notices.dismiss, auth="session")
