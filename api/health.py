from lib.health import status
from lib.http import endpoint

app = endpoint(GET=status)
