"""The web UI at ``/ui``: server-rendered pages (Jinja2 + vendored htmx) built on the same
service layer as the API, so the two never disagree."""

from __future__ import annotations

from headwater.ui.app import install

__all__ = ["install"]
