"""The HTTP layer every function file is built with."""

from lib.http.auth import Caller, load_user
from lib.http.endpoint import endpoint, error_response
from lib.http.request import MAX_BODY_BYTES, Request
from lib.http.response import Response

__all__ = ["Caller", "MAX_BODY_BYTES", "Request", "Response", "endpoint", "error_response", "load_user"]
