from lib.admin import credits
from lib.http import endpoint

app = endpoint(POST=credits.adjust, auth="admin")
