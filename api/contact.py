from lib import contact
from lib.http import endpoint

app = endpoint(POST=contact.submit)
