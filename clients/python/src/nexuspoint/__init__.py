"""The official Python client for the NexusPoint computer-vision API.

    from nexuspoint import Client
    client = Client()  # $NEXUSPOINT_API_KEY, $NEXUSPOINT_BASE_URL
    result = client.general_classification("photo.jpg")
    print(result.top.label, result.credits_charged, result.credits_remaining)
"""

from nexuspoint.client import DEFAULT_BASE_URL, Client, __version__
from nexuspoint.errors import (
    APIConnectionError,
    APIError,
    APITimeout,
    AuthenticationError,
    Conflict,
    EmailUnverified,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidImage,
    InvalidRequest,
    ModelNotAllowed,
    ModelUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TokenCreditLimit,
    TokenExpired,
    UpstreamError,
    UpstreamTimeout,
)
from nexuspoint.results import (
    BackgroundRemoval,
    Balance,
    Box,
    Classification,
    DetectedObject,
    Detection,
    Keypoint,
    Label,
    ModelInfo,
    Person,
    PoseEstimation,
    Prediction,
    TextLine,
    TextRecognition,
    Usage,
    Word,
)

__all__ = [
    "DEFAULT_BASE_URL", "Client", "__version__",
    "APIConnectionError", "APIError", "APITimeout", "AuthenticationError", "Conflict", "EmailUnverified", "IdempotencyKeyInUse",
    "IdempotencyKeyReused", "InsufficientCredits", "InvalidImage", "InvalidRequest", "ModelNotAllowed", "ModelUnavailable", "NotFound",
    "PermissionDenied", "RateLimited", "ServerError", "ServiceUnavailable", "TokenCreditLimit", "TokenExpired", "UpstreamError",
    "UpstreamTimeout",
    "BackgroundRemoval", "Balance", "Box", "Classification", "DetectedObject", "Detection", "Keypoint", "Label", "ModelInfo", "Person",
    "PoseEstimation", "Prediction", "TextLine", "TextRecognition", "Usage", "Word",
]
