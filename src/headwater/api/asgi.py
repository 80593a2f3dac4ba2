"""ASGI entry point for ``headwater serve`` (and any ASGI server): settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from headwater.api.app import create_app
from headwater.runtime import build_context
from headwater.settings import get_settings


def create_from_environment() -> FastAPI:
    settings = get_settings()
    return create_app(build_context(settings), max_body=settings.max_body_bytes)
