from lib.billing import topups
from lib.cron import cron_endpoint

app = cron_endpoint(topups.auto_topup)
