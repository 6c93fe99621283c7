from lib import sessions
from lib.cron import cron_endpoint

app = cron_endpoint(sessions.forget_expired)
