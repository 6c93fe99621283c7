"""Local stand-ins for outside services, reusable from tests, browser tests and benchmarks."""
