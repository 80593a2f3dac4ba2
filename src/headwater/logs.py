"""Structured logs: the floor every layer may import (it imports nothing of Headwater).

``HEADWATER_LOG_FORMAT=json`` (the default when stderr is not a terminal) prints one JSON object
per line (``ts``, ``level``, ``logger``,
``message``, ``request_id``/``run_id`` when known, and any ``extra=`` fields); secrets are redacted
in every format by :class:`RedactingFilter`. The request id and run id live in context variables,
set by the API middleware (:func:`log_context`) and by the run observer (:func:`tag_run`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

# ---------------------------------------------------------------------------------------- context

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "headwater_request_id", default=None
)
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "headwater_run_id", default=None
)


def current_request_id() -> str | None:
    return _request_id.get()


def current_run_id() -> str | None:
    return _run_id.get()


@contextlib.contextmanager
def log_context(*, request_id: str | None = None, run_id: str | None = None) -> Iterator[None]:
    """Tag every log record made inside the block (in this thread or task) with these ids."""
    tokens: list[tuple[contextvars.ContextVar[str | None], contextvars.Token[str | None]]] = []
    if request_id is not None:
        tokens.append((_request_id, _request_id.set(request_id)))
    if run_id is not None:
        tokens.append((_run_id, _run_id.set(run_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


RunTag = contextvars.Token[str | None]


def tag_run(run_id: str) -> RunTag:
    """Tag this thread's log records with ``run_id`` until :func:`untag_run` (for code that sees
    a run's start and end as two separate calls, as an event listener does)."""
    return _run_id.set(run_id)


def untag_run(tag: RunTag) -> None:
    """Undo :func:`tag_run`; a tag made in another context is ignored."""
    with contextlib.suppress(ValueError):
        _run_id.reset(tag)


# -------------------------------------------------------------------------------------- redaction

REDACTED = "[REDACTED]"
_SENSITIVE_KEY = re.compile(
    r"secret|token|passw|authorization|api[-_]?key|credential|cookie|signature", re.IGNORECASE
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?[A-Za-z0-9_-]*(?:secret|token|passw(?:or)?d|authorization|api[-_]?key|"""
    r"""credential)[A-Za-z0-9_-]*["']?)(?P<sep>\s*[:=]\s*)(?P<quote>["']?)"""
    r"""(?!\[REDACTED\])(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"',&;}\]]+)""",
    re.IGNORECASE,
)


def is_sensitive_key(key: str) -> bool:
    return bool(_SENSITIVE_KEY.search(key))


def redact_text(text: str) -> str:
    """Mask bearer credentials and ``key=value`` / ``"key": "value"`` pairs with a secret key."""
    text = _KEY_VALUE.sub(
        lambda m: f"{m.group('key')}{m.group('sep')}{m.group('quote')}{REDACTED}", text
    )
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with secret-named keys masked and strings scrubbed."""
    if key is not None and is_sensitive_key(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "run_id"}
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class RedactingFilter(logging.Filter):
    """Rewrites each record so no handler sees a secret: the formatted message is scrubbed and
    ``extra=`` fields named like a secret are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_headwater_redacted", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in _extras(record).items():
            setattr(record, key, redact(value, key))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        record._headwater_redacted = True
        return True


class ContextFilter(logging.Filter):
    """Copies the current request id and run id onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        if getattr(record, "run_id", None) is None:
            record.run_id = _run_id.get()
        return True


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key in ("request_id", "run_id"):
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        for key, value in _extras(record).items():
            if not key.startswith("_"):
                out[key] = redact(value, key)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc_info"] = redact_text(record.exc_text)
        return json.dumps(out, default=_json_default, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, ending with the request and run ids when known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{key}={value}"
            for key in ("request_id", "run_id")
            if (value := getattr(record, key, None)) is not None
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


#: Loggers of the HTTP client: one line per request (a source's page), so DEBUG, not INFO.
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


class HttpClientDemoteFilter(logging.Filter):
    """Turns the HTTP client's per-request INFO lines into DEBUG ones (a sync of a million
    records would otherwise write one INFO line per page); they show with ``log_level=DEBUG``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith(HTTP_CLIENT_LOGGERS):
            record.levelno = logging.DEBUG
            record.levelname = "DEBUG"
            return logging.getLogger().getEffectiveLevel() <= logging.DEBUG
        return True


def resolve_format(fmt: str) -> str:
    """``json`` or ``text``: ``auto`` is text on a terminal, JSON otherwise."""
    fmt = fmt.strip().lower()
    if fmt == "auto":
        isatty = getattr(sys.stderr, "isatty", None)
        return "text" if callable(isatty) and isatty() else "json"
    return "json" if fmt == "json" else "text"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (so redirection works)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """The stream is always the current ``sys.stderr``."""


def configure_logging(fmt: str = "auto", level: str = "INFO") -> logging.Handler:
    """Install Headwater's stderr handler on the root logger (idempotent): JSON lines when
    ``fmt`` resolves to ``json`` (:func:`resolve_format`), plain text otherwise; redaction,
    request/run ids and the HTTP client's requests at DEBUG in both."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_headwater", False)), None)
    if handler is None:
        for old in list(root.handlers):
            if type(old) is logging.StreamHandler:  # a basicConfig() handler: replace it
                root.removeHandler(old)
        handler = StderrHandler()
        handler._headwater = True  # type: ignore[attr-defined]
        handler.addFilter(HttpClientDemoteFilter())
        handler.addFilter(ContextFilter())
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter())
    root.setLevel(level.upper())
    # Alembic narrates every migration check at INFO; keep its warnings only.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    return handler
