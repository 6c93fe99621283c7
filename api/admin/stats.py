from lib.admin import stats
from lib.http import endpoint

app = endpoint(GET=stats.stats, auth="admin")
