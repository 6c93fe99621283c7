from lib.credits.settle import settle
from lib.cron import cron_endpoint

app = cron_endpoint(settle)
