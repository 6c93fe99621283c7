from lib.admin import policy_updates
from lib.cron import cron_endpoint

app = cron_endpoint(policy_updates.send_policy_mail)
