from lib.cron import cron_endpoint
from lib.tokens import expiry

app = cron_endpoint(expiry.send_expiry_warnings)
