"""The morning review page: completed paintings with their videos, script, sources and step-0 verdict, and the
three decisions (approve, reject with reasons, redo from a step).

:func:`create_app` builds the FastAPI app; :func:`serve` runs it with uvicorn. The decisions themselves live
in :mod:`vivant.review.actions` so that they do not depend on the web layer.
"""

from __future__ import annotations

from vivant.review.app import create_app, serve

__all__ = ["create_app", "serve"]
