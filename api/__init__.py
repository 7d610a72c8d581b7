"""fitroom service: composes the `avatar` and `sizing` libraries behind FastAPI and one CLI."""
