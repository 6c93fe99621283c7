"""`Client`: one method per model, the account's balance and usage, retries that never charge twice."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from typing import Any, Callable

import requests

from nexuspoint import images, results
from nexuspoint.errors import (
    APIConnectionError,
    APIError,
    APITimeout,
    AuthenticationError,
    IdempotencyKeyInUse,
    RateLimited,
    error_from_response,
)
from nexuspoint.images import ImageArg
from nexuspoint.results import (
    BackgroundRemoval,
    Balance,
    Classification,
    Detection,
    ModelInfo,
    PoseEstimation,
    Prediction,
    TextRecognition,
    Usage,
)

__version__ = "0.1.0"
DEFAULT_BASE_URL = "https://nexuspoint.ai"
RETRY_STATUSES = frozenset({502, 503, 504})
SANDBOX_KEY_PREFIX = "np_test_"


def new_idempotency_key() -> str:
    return "np-" + uuid.uuid4().hex


class Client:
    """A NexusPoint API client.

    ``api_key`` defaults to ``$NEXUSPOINT_API_KEY`` and ``base_url`` to
    ``$NEXUSPOINT_BASE_URL``, else the production site. ``timeout`` is seconds per
    attempt; ``max_retries`` counts the attempts after the first for 429,
    502/503/504 and connection errors. ``sleep`` is how the client waits between
    attempts (tests pass a fake). The client is safe to share between threads.
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, timeout: float = 60.0, max_retries: int = 3, *,
                 backoff: float = 0.5, max_backoff: float = 8.0, max_retry_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.api_key = (api_key if api_key is not None else os.environ.get("NEXUSPOINT_API_KEY", "")).strip()
        self.base_url = (base_url or os.environ.get("NEXUSPOINT_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff, self.max_backoff, self.max_retry_wait = backoff, max_backoff, max_retry_wait
        self._sleep = sleep
        self._local = threading.local()  # one requests.Session (connection pool) per thread
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def sandbox(self) -> bool:
        """True for a test token (``np_test_...``): its calls are free and run on the sandbox."""
        return self.api_key.startswith(SANDBOX_KEY_PREFIX)

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = f"nexuspoint-python/{__version__}"
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the vision models ---------------------------------------------------

    def predict(self, model: str, image: ImageArg, *, idempotency_key: str | None = None, min_confidence: float | None = None,
                max_results: int | None = None, **options: Any) -> Prediction:
        """Run ``model`` on ``image`` (a path, bytes, a binary file object, or an http(s):// URL the server fetches).

        ``options`` are the model's own (``lang`` for text recognition). ``min_confidence`` and
        ``max_results`` are sent to the server and applied again to what comes back, so they hold
        on servers that don't know them yet. The idempotency key (new per call unless given) is
        sent with every attempt of this call.
        """
        body = images.body_for(image)
        params = {k: v for k, v in {**options, "min_confidence": min_confidence, "max_results": max_results}.items() if v is not None}
        if results.MODEL_OUTPUTS.get(model) == "image":
            params["format"] = "png"  # the PNG itself, not a base64 data URL a third larger
        response = self._request("POST", f"/api/vision/{model}", params=params, data=body.data, content_type=body.content_type,
                                 idempotency_key=idempotency_key or new_idempotency_key())
        if response.headers.get("Content-Type", "").startswith("image/"):
            prediction = results.parse_prediction(model, None, response.headers, png=response.content)
        else:
            prediction = results.parse_prediction(model, self._json(response), response.headers)
        if self.sandbox:
            prediction.sandbox = True
        return results.filter_scores(prediction, min_confidence, max_results)

    def general_classification(self, image: ImageArg, **options: Any) -> Classification:
        return self.predict("general-classification", image, **options)

    def places_classification(self, image: ImageArg, **options: Any) -> Classification:
        return self.predict("places-classification", image, **options)

    def nsfw_classification(self, image: ImageArg, **options: Any) -> Classification:
        return self.predict("nsfw-classification", image, **options)

    def object_detection(self, image: ImageArg, **options: Any) -> Detection:
        return self.predict("object-detection", image, **options)

    def instance_segmentation(self, image: ImageArg, **options: Any) -> Detection:
        return self.predict("instance-segmentation", image, **options)

    def text_recognition(self, image: ImageArg, lang: str | None = None, **options: Any) -> TextRecognition:
        return self.predict("text-recognition", image, lang=lang, **options)

    def pose_estimation(self, image: ImageArg, **options: Any) -> PoseEstimation:
        return self.predict("pose-estimation", image, **options)

    def background_removal(self, image: ImageArg, **options: Any) -> BackgroundRemoval:
        """The cut-out as PNG bytes in ``.png`` (``.save(path)`` writes it), with the call's metadata."""
        return self.predict("background-removal", image, **options)

    # --- the account -----------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """The catalogue: slug, name, cost in credits, output kind, and whether the server can run it now."""
        return results.parse_models(self._json(self._request("GET", "/api/vision/models", auth=False)))

    def balance(self) -> Balance:
        response = self._request("GET", "/api/account/balance")
        body = self._json(response)
        sandbox = self.sandbox or body.get("sandbox") is True or response.headers.get("X-Sandbox", "").lower() == "true"
        return Balance(credits=int(body.get("credits") or 0), sandbox=sandbox, raw=body)

    def usage(self, days: int = 30) -> Usage:
        """Calls and credits per day, per model and per source (API or dashboard) over the last ``days`` days."""
        return results.parse_usage(self._json(self._request("GET", "/api/account/usage", params={"days": int(days)})))

    # --- HTTP and retries ----------------------------------------------------

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None, data: bytes | None = None,
                 content_type: str | None = None, idempotency_key: str | None = None, auth: bool = True) -> requests.Response:
        headers = {"Accept": "application/json, image/png;q=0.9"}
        if content_type:
            headers["Content-Type"] = content_type
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif auth:
            raise AuthenticationError("No API key. Pass Client(api_key=...) or set NEXUSPOINT_API_KEY; create a token in the dashboard "
                                      "under API tokens.", code="missing_api_key")
        url = self.base_url + path
        attempt = 0
        while True:
            outcome = self._attempt(method, url, params, data, headers)
            if isinstance(outcome, requests.Response):
                return outcome
            wait = self._wait_before_retry(attempt, outcome)
            if wait is None:
                raise outcome
            self._sleep(wait)
            attempt += 1

    def _attempt(self, method, url, params, data, headers):
        """The response of one attempt, or the APIError it ended with."""
        try:
            response = self._session().request(method, url, params=params, data=data, headers=headers,
                                             timeout=(min(10.0, self.timeout), self.timeout), allow_redirects=False)
        except requests.Timeout:
            return APITimeout(f"{self.base_url} did not answer within {self.timeout:g} s.", code="timeout")
        except requests.RequestException as exc:
            return APIConnectionError(f"Could not reach {self.base_url}: {_reason(exc)}. Check the address (NEXUSPOINT_BASE_URL) "
                                      "and your connection.", code="connection_error")
        if response.status_code < 400:
            return response
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return error_from_response(response.status_code, payload, response.headers)

    def _wait_before_retry(self, attempt: int, error: APIError) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise ``error``."""
        retryable = isinstance(error, (RateLimited, IdempotencyKeyInUse, APIConnectionError)) or error.status in RETRY_STATUSES
        if not retryable or attempt >= self.max_retries:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_wait:
                return None  # longer than the caller would want to hang: let them decide
            return retry_after + random.uniform(0, min(1.0, self.backoff))  # spread a crowd of waiting threads
        delay = min(self.max_backoff, self.backoff * 2 ** attempt)
        return delay / 2 + random.uniform(0, delay / 2)

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise APIError(f"{response.url} answered HTTP {response.status_code} with something that isn't JSON; is "
                           f"{self.base_url} a NexusPoint server?", status=response.status_code, code="invalid_response",
                           request_id=response.headers.get("X-Request-Id"), headers=response.headers)
        return body


def _reason(exc: Exception) -> str:
    """A few words for why a connection failed ("connection refused"), not urllib3's paragraph."""
    text = str(exc)
    for marker, words in (("refused", "connection refused"), ("Name or service not known", "unknown host name"),
                          ("nodename nor servname", "unknown host name"), ("reset by peer", "connection reset"),
                          ("RemoteDisconnected", "the server closed the connection")):
        if marker in text:
            return words
    return type(exc).__name__
