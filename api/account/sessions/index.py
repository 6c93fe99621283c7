from lib.accounts.session_list import end_others, list_for
from lib.http import endpoint

app = endpoint(GET=list_for, DELETE=end_others, auth="session")
