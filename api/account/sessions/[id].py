from lib.accounts.session_list import end_one
from lib.http import endpoint

app = endpoint(DELETE=end_one, auth="session")
