"""Metrics and structured logs.

Metrics. Run, record and HubSpot counters are kept in the database (``runs`` and
``metric_counters``), so the ``/metrics`` of any API process reports what every worker did; the
HTTP latency histogram is per process (the process that served the requests). The exposition is
Prometheus text format 0.0.4, written here (a few dozen lines, no client library needed).

Logs. ``HEADWATER_LOG_FORMAT=json`` prints one JSON object per line (``ts``, ``level``,
``logger``, ``message``, ``request_id``/``run_id`` when known, and any ``extra=`` fields);
secrets are redacted in every format by :class:`RedactingFilter`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import math
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from headwater.services.context import ServiceContext, Tenant
from headwater.store.tables import metric_counters, runs

log = logging.getLogger("headwater.observability")

# ---------------------------------------------------------------------------------------- context

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "headwater_request_id", default=None
)
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "headwater_run_id", default=None
)
#: The ASGI scope of the request being served (routing writes the matched route into it).
_http_scope: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "headwater_http_scope", default=None
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


def configure_logging(fmt: str = "text", level: str = "INFO") -> logging.Handler:
    """Install Headwater's stderr handler on the root logger (idempotent): JSON lines when
    ``fmt == "json"``, plain text otherwise; redaction and request/run ids in both."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_headwater", False)), None)
    if handler is None:
        for old in list(root.handlers):
            if type(old) is logging.StreamHandler:  # a basicConfig() handler: replace it
                root.removeHandler(old)
        handler = StderrHandler()
        handler._headwater = True  # type: ignore[attr-defined]
        handler.addFilter(ContextFilter())
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter() if fmt.strip().lower() == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.setLevel(level.upper())
    # Alembic narrates every migration check at INFO; keep its warnings only.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    return handler


# ----------------------------------------------------------------------------------- ASGI request


class RequestIdMiddleware:
    """Outermost ASGI middleware: makes sure the request carries an ``x-request-id`` (the one
    :class:`~headwater.api.middleware.RequestContextMiddleware` echoes) and tags the request's
    logs with it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", []))
        rid = next((v.decode("latin-1") for k, v in headers if k.lower() == b"x-request-id"), "")
        if not rid:
            rid = uuid.uuid4().hex
            headers.append((b"x-request-id", rid.encode()))
            scope = {**scope, "headers": headers}
        token = _request_id.set(rid[:128])
        scope_token = _http_scope.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _http_scope.reset(scope_token)
            _request_id.reset(token)


# ----------------------------------------------------------------------------------------- metrics

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RUNS_TOTAL = "headwater_runs_total"
RUNS_IN_STATE = "headwater_runs_in_state"
RECORDS_READ = "headwater_records_read_total"
RECORDS_WRITTEN = "headwater_records_written_total"
HUBSPOT_REQUESTS = "headwater_hubspot_requests_total"
HUBSPOT_429 = "headwater_hubspot_429_total"
HTTP_DURATION = "headwater_http_request_duration_seconds"

_HELP = {
    RUNS_TOTAL: "Flow runs that ended, by final status (from the runs table).",
    RUNS_IN_STATE: "Flow runs waiting or running now, by status (from the runs table).",
    RECORDS_READ: "Records read from sources by finished runs.",
    RECORDS_WRITTEN: "Records written (inserted, updated or deleted) to the lake by finished runs.",
    HUBSPOT_REQUESTS: "HTTP requests sent to HubSpot by runs, by portal.",
    HUBSPOT_429: "HTTP 429 answers from HubSpot to runs, by portal.",
    HTTP_DURATION: "Flow Service API request latency in this process, by route template.",
}
_TERMINAL = ("success", "failed", "partialSuccess", "cancelled")
_ACTIVE = ("scheduled", "inProgress")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Histogram:
    """A labelled, thread-safe Prometheus histogram."""

    def __init__(
        self, name: str, labelnames: Sequence[str], buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> None:
        self.name = name
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., count, sum

    def observe(self, value: float, *labels: str) -> None:
        key = tuple(labels)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(self.buckets) + 2)
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += 1
            series[-1] += value

    def exposition(self) -> list[str]:
        lines = [f"# HELP {self.name} {_HELP.get(self.name, self.name)}"]
        lines.append(f"# TYPE {self.name} histogram")
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            base = list(zip(self.labelnames, key, strict=True))
            for bound, count in zip(self.buckets, series, strict=False):
                le = _labels([*base, ("le", _number(bound))])
                lines.append(f"{self.name}_bucket{le} {_number(count)}")
            lines.append(
                f"{self.name}_bucket{_labels([*base, ('le', '+Inf')])} {_number(series[-2])}"
            )
            lines.append(f"{self.name}_count{_labels(base)} {_number(series[-2])}")
            lines.append(f"{self.name}_sum{_labels(base)} {_number(series[-1])}")
        return lines


class HttpMetrics:
    """What this API process measured: request latency by method, route template and status."""

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.duration = Histogram(HTTP_DURATION, ("method", "route", "status"), buckets)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """The ``observe`` callback of ``RequestContextMiddleware``."""
        self.duration.observe(seconds, method, full_route(_http_scope.get(), route), str(status))


def full_route(scope: Mapping[str, Any] | None, template: str) -> str:
    """The matched route template with its router's prefix (``/flows/{flow_id}`` →
    ``/data/foundation/flowservice/flows/{flow_id}``): the prefix is the leading literal segments
    of the raw (still percent-encoded) path that the template does not cover."""
    if scope is None or not template.startswith("/") or ":path}" in template:
        return template
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    path = path.split("?", 1)[0]
    segments = [s for s in path.split("/") if s]
    covered = len([s for s in template.split("/") if s])
    extra = len(segments) - covered
    if extra <= 0:
        return template
    return "/" + "/".join(segments[:extra]) + template


def _labels_key(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def add_counters(
    engine: Engine, increments: Sequence[tuple[str, Mapping[str, str], int]], *, now: int
) -> None:
    """Add to shared counters (created at 0 on first use); one transaction for all."""
    rows = [(n, _labels_key(lb), int(v)) for n, lb, v in increments if v]
    if not rows:
        return
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        for name, labels, amount in rows:
            stmt = insert(metric_counters).values(
                name=name, labels=labels, value=amount, updated_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[metric_counters.c.name, metric_counters.c.labels],
                    set_={
                        "value": metric_counters.c.value + stmt.excluded.value,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )


def read_counters(engine: Engine) -> dict[str, list[tuple[dict[str, str], int]]]:
    out: dict[str, list[tuple[dict[str, str], int]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(metric_counters.c.name, metric_counters.c.labels, metric_counters.c.value)
        ).all()
    for name, labels, value in rows:
        out.setdefault(name, []).append((json.loads(labels), int(value)))
    return out


def run_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)).all()
    return {str(status): int(n) for status, n in rows}


def render_metrics(engine: Engine, http: HttpMetrics | None = None) -> str:
    """The whole ``/metrics`` page."""
    lines: list[str] = []
    counts = run_counts(engine)
    lines += [f"# HELP {RUNS_TOTAL} {_HELP[RUNS_TOTAL]}", f"# TYPE {RUNS_TOTAL} counter"]
    statuses = sorted(set(_TERMINAL) | (set(counts) - set(_ACTIVE)))
    lines += [f"{RUNS_TOTAL}{_labels([('status', s)])} {counts.get(s, 0)}" for s in statuses]
    lines += [f"# HELP {RUNS_IN_STATE} {_HELP[RUNS_IN_STATE]}", f"# TYPE {RUNS_IN_STATE} gauge"]
    lines += [f"{RUNS_IN_STATE}{_labels([('status', s)])} {counts.get(s, 0)}" for s in _ACTIVE]
    counters = read_counters(engine)
    for name in (RECORDS_READ, RECORDS_WRITTEN, HUBSPOT_REQUESTS, HUBSPOT_429):
        lines += [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} counter"]
        series = counters.get(name, [])
        if name in (RECORDS_READ, RECORDS_WRITTEN) and not series:
            series = [({}, 0)]
        for labels, value in sorted(series, key=lambda s: sorted(s[0].items())):
            lines.append(f"{name}{_labels(sorted(labels.items()))} {value}")
    if http is not None:
        lines += http.duration.exposition()
    return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# ---------------------------------------------------------------------------------- run listeners

_RUN_ENDED = frozenset({"flow.run.succeeded", "flow.run.partially_succeeded", "flow.run.failed"})


class RunObserver:
    """A ``ServiceContext`` listener: counts records of finished runs and tags the executing
    thread's logs with the run id from the run's start to its end."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._tokens: dict[int, contextvars.Token[str | None]] = {}

    def __call__(self, event_type: str, payload: dict[str, Any]) -> None:
        thread = threading.get_ident()
        run_id = payload.get("flowRunId")
        if event_type == "flow.run.started" and isinstance(run_id, str):
            self._untag(thread)  # a run given back without an end event left its id behind
            self._tokens[thread] = _run_id.set(run_id)
            return
        if event_type not in _RUN_ENDED:
            return
        self._untag(thread)
        summary = (payload.get("metrics") or {}).get("recordSummary") or {}
        read = summary.get("inputRecordCount")
        written = summary.get("outputRecordCount")
        add_counters(
            self.ctx.engine,
            [
                (RECORDS_READ, {}, read if isinstance(read, int) else 0),
                (RECORDS_WRITTEN, {}, written if isinstance(written, int) else 0),
            ],
            now=self.ctx.clock(),
        )

    def _untag(self, thread: int) -> None:
        token = self._tokens.pop(thread, None)
        if token is not None:
            with contextlib.suppress(ValueError):
                _run_id.reset(token)


def install(ctx: ServiceContext) -> None:
    """Register the run observer on ``ctx`` (once)."""
    if not any(isinstance(listener, RunObserver) for listener in ctx.listeners):
        ctx.listeners.append(RunObserver(ctx))


# ------------------------------------------------------------------------------ HubSpot requests


def _portal_of(connector: Any) -> str:
    auth = getattr(connector, "auth", None)
    if auth is None:
        return "unknown"
    if hasattr(auth, "hub_id"):  # OAuth: the portal id the token belongs to
        hub = auth.hub_id
        return str(hub) if hub is not None else "unknown"
    key = auth.account_key()  # private apps: a hash of the token names the budget
    return str(key).removeprefix("hub:")


class _CountedConnector:
    """A source connector that adds its HubSpot request counts to the shared counters when it
    closes."""

    def __init__(self, ctx: ServiceContext, inner: Any) -> None:
        self._ctx = ctx
        self._inner = inner

    def __enter__(self) -> Any:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._inner.__exit__(*exc)
        finally:
            self.record()

    def record(self) -> None:
        stats = getattr(self._inner, "stats", None)
        if not isinstance(stats, dict) or not stats.get("requests"):
            return
        try:
            portal = _portal_of(self._inner)
            add_counters(
                self._ctx.engine,
                [
                    (HUBSPOT_REQUESTS, {"portal": portal}, int(stats.get("requests", 0))),
                    (HUBSPOT_429, {"portal": portal}, int(stats.get("rate_limited", 0))),
                ],
                now=self._ctx.clock(),
            )
        except Exception:
            log.exception("could not record HubSpot request counts")

    def read(self, table: str, *, state: Any, columns: Any = None, mode: Any = "auto") -> Any:
        return self._inner.read(table, state=state, columns=columns, mode=mode)

    def primary_key(self, name: str) -> tuple[str, ...]:
        return tuple(self._inner.primary_key(name))

    def table_schema(self, name: str) -> pa.Schema:
        return self._inner.table_schema(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def count_hubspot_requests(
    open_connector: Callable[[ServiceContext, Tenant, str], Any],
) -> Callable[[ServiceContext, Tenant, str], Any]:
    """Wrap a worker's ``open_connector`` so each connector's requests and 429s are counted per
    portal when it closes."""

    def opened(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> Any:
        return _CountedConnector(ctx, open_connector(ctx, tenant, conn_id))

    return opened
