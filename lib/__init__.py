"""NexusPoint: pay-per-use computer vision. Shared code for the functions in api/."""

__version__ = "0.1.0"
