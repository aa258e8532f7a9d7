"""The web service (FastAPI): scenes, versioned plan variants, GLB layers, analysis jobs and results."""

from stadstwin.service.app import create_app

__all__ = ["create_app"]
