from lib.billing import autotopup
from lib.http import endpoint

app = endpoint(GET=autotopup.get, PUT=autotopup.save, DELETE=autotopup.turn_off, auth="session")
