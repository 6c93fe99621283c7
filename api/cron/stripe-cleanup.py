from lib.billing.cleanup import stripe_cleanup
from lib.cron import cron_endpoint

app = cron_endpoint(stripe_cleanup)
