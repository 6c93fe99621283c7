from lib.accounts import deletion
from lib.http import endpoint

app = endpoint(DELETE=deletion.delete_account, auth="session")
