from lib.http import endpoint
from lib.vision.endpoint import list_models

app = endpoint(GET=list_models)
