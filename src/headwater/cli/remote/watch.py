"""``runs watch``: poll a run and draw its progress (records, pages, rate, ETA) until it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from headwater.cli.remote.client import ApiClient
from headwater.cli.remote.output import dig, emit_json, err_console, say
from headwater.errors import RemoteError

TERMINAL = frozenset({"success", "partialSuccess", "failed", "cancelled"})
FAILED = frozenset({"failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class RunProgress:
    """What a run document says about its progress (the copy activity's live counters)."""

    state: str
    records: int
    pages: int
    expected_total: int | None
    strategy: str
    error_code: str
    error_message: str

    @classmethod
    def of(cls, run: dict[str, Any]) -> RunProgress:
        copy: dict[str, Any] = next(
            (a for a in run.get("activities") or [] if a.get("id") == "copyActivity"), {}
        )
        ext = dig(copy, "statusSummary", "extensions", default={})
        records = dig(copy, "recordSummary", "inputRecordCount")
        if not isinstance(records, int):
            records = dig(run, "metrics", "recordSummary", "inputRecordCount", default=0)
        expected = ext.get("expectedTotal")
        err = dig(run, "metrics", "statusSummary", "errors", 0, default={})
        return cls(
            state=str(run.get("state") or dig(run, "metrics", "statusSummary", "status") or ""),
            records=int(records),
            pages=int(ext.get("pages") or 0),
            expected_total=expected if isinstance(expected, int) and expected > 0 else None,
            strategy=str(ext.get("strategy") or ""),
            error_code=str(err.get("code") or ""),
            error_message=str(err.get("message") or ""),
        )

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


class RecordsColumn(ProgressColumn):
    """``1,234/5,000 records · 12 pages`` (the total only when the source announced one)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        total = f"/{int(task.total):,}" if task.total else ""
        return Text(f"{done}{total} records · {task.fields.get('pages', 0)} pages")


class RateColumn(ProgressColumn):
    """Records per second over rich's recent samples."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rec/s", style="cyan")


def watch_run(client: ApiClient, run_id: str, *, interval: float, as_json: bool) -> dict[str, Any]:
    """Poll ``GET /runs/{id}`` until the run ends; print its outcome; raise when it failed."""
    run = client.one("runs", run_id)
    if as_json:
        while not RunProgress.of(run).finished:
            time.sleep(interval)
            run = client.one("runs", run_id)
        emit_json(run)
    else:
        run = _draw(client, run, interval=interval)
    progress = RunProgress.of(run)
    if progress.state in FAILED:
        reason = progress.error_message or "no reason given"
        raise RemoteError(f"run {run_id} {progress.state}: {reason}", code=progress.error_code)
    if not as_json:
        say(
            f"run {run_id} {progress.state}: {progress.records:,} records "
            f"in {progress.pages} pages" + (f" ({progress.strategy})" if progress.strategy else "")
        )
    return run


def _draw(client: ApiClient, run: dict[str, Any], *, interval: float) -> dict[str, Any]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        RecordsColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task(run["id"], total=None, pages=0)
        while True:
            p = RunProgress.of(run)
            total = max(p.expected_total, p.records) if p.expected_total else None
            bar.update(
                task, completed=p.records, total=total, pages=p.pages, description=f"{p.state:<12}"
            )
            if p.finished:
                if total is None:  # nothing announced a total: the bar ends full at the count
                    bar.update(task, total=p.records, completed=p.records)
                return run
            time.sleep(interval)
            run = client.one("runs", run["id"])
