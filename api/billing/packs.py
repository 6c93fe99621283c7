from lib.billing.packs import list_packs
from lib.http import endpoint

app = endpoint(GET=list_packs)
