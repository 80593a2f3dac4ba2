"""``headwater quickstart``: the whole product on embedded defaults, driven over its public API.

Starts the bundled HubSpot emulator and ``headwater serve`` (API, scheduler, worker) on free ports,
creates an org, an API client and a token, sends the tutorial's ``POST /connections`` request,
explores the HubSpot tables, creates a dataset, source and target connections and a flow for
contacts, runs it with a live progress bar, and prints a preview, the run's metrics and the
commands to try next. A second invocation reuses what the first created (kept in
``HEADWATER_HOME/quickstart.json``) and runs the flow again incrementally.

It leaves the home ready for the next commands (:mod:`headwater.cli.home`): the emulator is
recorded as the home's HubSpot in its settings file, and the API client as a profile.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from headwater.cli import home as homes
from headwater.cli.remote.client import ApiClient
from headwater.cli.remote.emulated import emulated_spec_id
from headwater.cli.remote.output import console
from headwater.cli.remote.profiles import Profile
from headwater.domain.paths import CATALOG_PATH as CAT
from headwater.domain.paths import FLOW_SERVICE_PATH as FS
from headwater.domain.specs import CRM_TO_AEP_FLOW_SPEC_ID, DATA_LAKE_SPEC_ID
from headwater.errors import QuickstartError

if TYPE_CHECKING:
    from headwater.settings import HubSpotEmulatorSettings

ORG = "QUICKSTART@AdobeOrg"
SANDBOX = "prod"


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001 - a signal handler
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _headwater(*args: str) -> list[str]:
    return [sys.executable, "-m", "headwater", *args]


class Quickstart:
    def __init__(self, home: Path, *, contacts: int, console: Console) -> None:
        self.home = home
        self.contacts = contacts
        self.console = console
        self.state_file = home / "quickstart.json"
        self.state: dict[str, Any] = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        )
        self.procs: list[subprocess.Popen[Any]] = []
        self.api: ApiClient | None = None
        home.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ processes

    def _save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.state, fh, indent=2)

    def start_emulator(self) -> dict[str, Any]:
        """Start the emulator (on the port this home's emulator had, when it is free) and record
        it as the home's HubSpot."""
        from headwater.settings import HubSpotEmulatorSettings

        previous = homes.recorded_emulator(self.home)
        emulator = HubSpotEmulatorSettings(
            port=homes.free_port(previous.port if previous else None),
            seed=42,
            contacts=self.contacts,
            companies=2000,
            deals=3000,
        )
        with self.console.status("starting the bundled HubSpot emulator"):
            info = self._emulator(emulator)
            if info is None:  # the port was taken meanwhile
                emulator = emulator.model_copy(update={"port": homes.free_port()})
                info = self._emulator(emulator)
            if info is None:
                raise QuickstartError("the HubSpot emulator did not start")
        path = homes.remember_hubspot(self.home, emulator)
        self.console.print(
            f"[green]✓[/green] HubSpot emulator at {info['base_url']} "
            f"({self.contacts:,} contacts, portal {info['portal_id']}), "
            f"recorded as this home's HubSpot in {path}"
        )
        for name in homes.overriding_variables():
            self.console.print(
                f"  [yellow]{name} is set in this shell and overrides {path.name} for the "
                "commands you run here[/yellow]"
            )
        return info

    def _emulator(self, emulator: HubSpotEmulatorSettings) -> dict[str, Any] | None:
        proc = subprocess.Popen(
            _headwater(*emulator.args(), "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            proc.stdout.close()
            return None
        self.procs.append(proc)
        info: dict[str, Any] = json.loads(line)
        return info

    def start_server(self) -> str:
        """``headwater serve`` in this home (on the port of its profile, when it is free); it
        reads the HubSpot just recorded from the home's settings file."""
        previous = homes.previous_profile(self.home)
        port = homes.free_port(urlsplit(previous.endpoint).port if previous else None)
        log = (self.home / "serve.log").open("ab")
        proc = subprocess.Popen(
            _headwater("serve", "--port", str(port)),
            env=homes.server_environment(self.home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        with self.console.status("starting headwater serve (API, scheduler, worker)"):
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise QuickstartError(f"headwater serve exited; see {self.home / 'serve.log'}")
                try:
                    if httpx.get(base + "/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise QuickstartError("headwater serve did not become ready within 60 s")
                time.sleep(0.1)
        self.console.print(f"[green]✓[/green] Headwater serving {base}{FS}")
        return base

    def stop(self) -> None:
        if self.api is not None:
            self.api.http.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()

    # ------------------------------------------------------------------ identity

    def identity(self, base: str) -> ApiClient:
        """The quickstart org and API client (made once with the admin commands), stored as a
        profile of this home, and a client of the API as them."""
        env = dict(os.environ, HEADWATER_HOME=str(self.home))
        if "clientId" not in self.state:
            orgs = json.loads(
                subprocess.run(
                    _headwater("orgs", "list", "--json"),
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            if ORG not in {o["orgId"] for o in orgs}:
                subprocess.run(
                    _headwater("orgs", "create", ORG), env=env, check=True, capture_output=True
                )
            client = json.loads(
                subprocess.run(
                    _headwater("clients", "create", "--org", ORG, "--name", "quickstart", "--json"),
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            self.state.update(clientId=client["clientId"], clientSecret=client["clientSecret"])
            self._save()
        profile = Profile(
            name=homes.PROFILE,
            endpoint=base,
            org=ORG,
            sandbox=SANDBOX,
            client_id=self.state["clientId"],
            client_secret=self.state["clientSecret"],
        )
        api = ApiClient(profile, self.home, timeout=120)
        api.token()
        path = homes.remember_profile(self.home, profile)
        self.console.print(
            f"[green]✓[/green] org {ORG}, API client {self.state['clientId']}, token issued; "
            f"profile {profile.name} saved in {path}"
        )
        return api

    # ------------------------------------------------------------------ API helpers

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        assert self.api is not None
        return self.api.request(method, path, **kw)

    def _exists(self, path: str) -> bool:
        assert self.api is not None
        return self.api.exists(path)

    # ------------------------------------------------------------------ the tour

    def run(self, *, wait: bool) -> int:
        # SIGTERM and SIGHUP (a closed terminal) stop the tour like Ctrl-C does, so the server
        # and the emulator it started stop too.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            emu = self.start_emulator()
            base = self.start_server()
            self.api = self.identity(base)
            access = httpx.post(
                emu["base_url"] + "/oauth/v1/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": emu["oauth_client_id"],
                    "client_secret": emu["oauth_client_secret"],
                    "refresh_token": emu["refresh_token"],
                },
            ).json()["access_token"]
            params = {
                "clientId": emu["oauth_client_id"],
                "clientSecret": emu["oauth_client_secret"],
                "accessToken": access,
                "refreshToken": emu["refresh_token"],
            }
            self.connection(params)
            self.explore()
            self.dataflow()
            status = self.run_flow(emu["base_url"])
            self.show(base, running=wait)
            if wait:
                self.console.print(
                    f"\nThe service keeps running: API {base}{FS}, interactive docs {base}/docs. "
                    "Press Ctrl-C to stop.",
                    soft_wrap=True,
                )
                try:
                    while all(p.poll() is None for p in self.procs):
                        time.sleep(0.5)
                except KeyboardInterrupt:
                    self.console.print("stopping")
            return 0 if status == "success" else 1
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def connection(self, params: dict[str, str]) -> None:
        conn_id = self.state.get("connectionId")
        if conn_id and self._exists(f"{FS}/connections/{conn_id}"):
            # A new emulator process issues new access tokens: rotate the stored credentials.
            etag = self._call("GET", f"{FS}/connections/{conn_id}")["items"][0]["etag"]
            self._call(
                "PATCH",
                f"{FS}/connections/{conn_id}",
                headers={"If-Match": etag},
                json=[{"op": "replace", "path": "/auth/params", "value": params}],
            )
            self.console.print(
                f"[green]✓[/green] reused base connection {conn_id} (credentials rotated)"
            )
        else:
            body = {
                "name": "connection for HubSpot",
                "description": "connection for HubSpot",
                "auth": {"specName": "Basic Authentication", "params": params},
                "connectionSpec": {"id": emulated_spec_id(), "version": "1.0"},
            }
            created = self._call("POST", f"{FS}/connections", json=body)
            self.state["connectionId"] = created["id"]
            self._save()
            self.console.print(
                f"[green]✓[/green] POST {FS}/connections → 201 {json.dumps(created)}"
            )
        test = self._call("GET", f"{FS}/connections/{self.state['connectionId']}/test")
        if not test.get("result"):
            raise QuickstartError(f"the connection test failed: {test}")
        self.console.print('[green]✓[/green] connection test: {"result": true}')

    def explore(self) -> None:
        conn_id = self.state["connectionId"]
        tables = self._call(
            "GET", f"{FS}/connections/{conn_id}/explore", params={"objectType": "root"}
        )
        names = [t["name"] for t in tables]
        self.console.print(
            f"[green]✓[/green] explore: {len(names)} tables — {', '.join(names[:8])}, …"
        )
        schema = self._call(
            "GET",
            f"{FS}/connections/{conn_id}/explore",
            params={"objectType": "table", "object": "Hubspot.Contacts"},
        )
        cols = schema["schema"]["columns"]
        self.console.print(f"  Hubspot.Contacts has {len(cols)} typed columns")

    def dataflow(self) -> None:
        conn_id = self.state["connectionId"]
        if not (
            self.state.get("datasetId")
            and self._exists(f"{CAT}/dataSets/{self.state['datasetId']}")
        ):
            ds = self._call(
                "POST",
                f"{CAT}/dataSets",
                json={"name": "hubspot_contacts", "description": "HubSpot contacts (quickstart)"},
            )
            self.state["datasetId"] = ds[0].split("/")[-1]
            self._save()
        if not (
            self.state.get("sourceId")
            and self._exists(f"{FS}/sourceConnections/{self.state['sourceId']}")
        ):
            self.state["sourceId"] = self._call(
                "POST",
                f"{FS}/sourceConnections",
                json={
                    "name": "HubSpot contacts",
                    "baseConnectionId": conn_id,
                    "data": {"format": "tabular"},
                    "params": {"path": "Hubspot.Contacts"},
                    "connectionSpec": {"id": emulated_spec_id(), "version": "1.0"},
                },
            )["id"]
            self._save()
        if not (
            self.state.get("targetId")
            and self._exists(f"{FS}/targetConnections/{self.state['targetId']}")
        ):
            self.state["targetId"] = self._call(
                "POST",
                f"{FS}/targetConnections",
                json={
                    "name": "Data Lake",
                    "data": {"format": "delta"},
                    "params": {"dataSetId": self.state["datasetId"]},
                    "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
                },
            )["id"]
            self._save()
        if not (self.state.get("flowId") and self._exists(f"{FS}/flows/{self.state['flowId']}")):
            self.state["flowId"] = self._call(
                "POST",
                f"{FS}/flows",
                json={
                    "name": "HubSpot contacts to the lake",
                    "flowSpec": {"id": CRM_TO_AEP_FLOW_SPEC_ID, "version": "1.0"},
                    "sourceConnectionIds": [self.state["sourceId"]],
                    "targetConnectionIds": [self.state["targetId"]],
                    "transformations": [],
                    "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
                },
            )["id"]
            self._save()
            self.console.print(
                f"[green]✓[/green] dataset {self.state['datasetId']}, source and target connections, "
                f"flow {self.state['flowId']}"
            )
        else:
            self.console.print(
                f"[green]✓[/green] reused flow {self.state['flowId']} and dataset {self.state['datasetId']}"
            )

    def run_flow(self, emulator_url: str) -> str:
        flow_id = self.state["flowId"]
        before: set[str] = set()
        if self.state.get("runs"):
            touched = httpx.post(
                emulator_url + "/_emulator/touch",
                json={"objectType": "contacts", "count": max(1, self.contacts // 100)},
            ).json()
            self.console.print(
                f"  changed {len(touched['ids']):,} contacts in HubSpot since the last run"
            )
            before = {
                r["id"]
                for r in self._call("GET", f"{FS}/runs", params={"property": f"flowId=={flow_id}"})[
                    "items"
                ]
            }
            self._call("POST", f"{FS}/flows/{flow_id}/action", params={"op": "run"})
        # a new flow scheduled "once" starts its first run by itself
        run: dict[str, Any] | None = None
        with Progress(
            TextColumn("[bold]run[/bold] {task.fields[phase]}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}{task.fields[of]} records"),
            TextColumn("{task.fields[pages]} pages"),
            TextColumn("{task.fields[rate]:,.0f} rec/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        ) as progress:
            task = progress.add_task("run", total=None, phase="queued", pages=0, rate=0.0, of="")
            started = time.monotonic()
            deadline = started + 600
            while time.monotonic() < deadline:
                items = self._call("GET", f"{FS}/runs", params={"property": f"flowId=={flow_id}"})[
                    "items"
                ]
                fresh = [r for r in items if r["id"] not in before]
                if fresh:
                    run = fresh[0]
                    copy = next(
                        (a for a in run.get("activities", []) if a["id"] == "copyActivity"), None
                    )
                    ext = (copy or {}).get("statusSummary", {}).get("extensions", {})
                    done = (copy or {}).get("recordSummary", {}).get("inputRecordCount", 0)
                    total = ext.get("expectedTotal")
                    progress.update(
                        task,
                        completed=done,
                        total=total if total else None,
                        of=f"/{total:,}" if total else "",
                        phase=f"{run['state']} {ext.get('strategy', '')}".strip(),
                        pages=ext.get("pages", 0),
                        rate=done / max(time.monotonic() - started, 1e-6),
                    )
                    if run["state"] in ("success", "failed", "partialSuccess"):
                        if total is None:
                            progress.update(task, total=done, of=f"/{done:,}")
                        break
                time.sleep(0.25)
        if run is None:
            raise QuickstartError("the run was not picked up by a worker")
        self.state["runs"] = int(self.state.get("runs", 0)) + 1
        self.state["lastRunId"] = run["id"]
        self._save()
        rs = run["metrics"]["recordSummary"]
        dur = run["metrics"]["durationSummary"]
        secs = (dur.get("completedAtUTC", 0) - dur.get("startedAtUTC", 0)) / 1000
        table = Table(title=f"run {run['id']} — {run['state']}")
        for col in ("read", "created", "updated", "deleted", "failed", "seconds"):
            table.add_column(col, justify="right")
        table.add_row(
            f"{rs.get('inputRecordCount', 0):,}",
            f"{rs.get('createdRecordCount', 0):,}",
            f"{rs.get('updatedRecordCount', 0):,}",
            f"{rs.get('deletedRecordCount', 0):,}",
            f"{rs.get('failedRecordCount', 0):,}",
            f"{secs:.1f}",
        )
        self.console.print(table)
        for err in run["metrics"]["statusSummary"].get("errors", []):
            self.console.print(f"[red]{err['code']}[/red] {err['message']}")
        return str(run["state"])

    def show(self, base: str, *, running: bool) -> None:
        ds = self.state["datasetId"]
        preview = self._call("GET", f"{CAT}/dataSets/{ds}/preview", params={"limit": 5})
        shown = [
            c["name"]
            for c in preview["columns"]
            if c["name"].startswith(
                (
                    "Id",
                    "Properties_Email",
                    "Properties_Firstname",
                    "Properties_Lastname",
                    "Updated_At",
                )
            )
        ][:5]
        table = Table(title=f"dataset hubspot_contacts ({ds}) — first rows")
        for col in shown:
            table.add_column(col)
        for row in preview["data"]:
            table.add_row(*(str(row.get(c, "")) for c in shown))
        self.console.print(table)
        ui = homes.ui_address(base) if running else None
        if ui:
            self.console.print(
                f"\nUI: {ui} (sign in with client ID {self.state['clientId']} and the client "
                f"secret in {self.state_file})",
                soft_wrap=True,
                markup=False,
            )
        if running:
            self.console.print("\nTry next, in another terminal while this runs:")
        else:
            self.console.print(
                "\nTry next (--exit stopped the service; doctor says how to start each part):"
            )
        lines = homes.next_commands(
            self.home, flow_id=self.state["flowId"], org=ORG, running=running
        )
        if running:
            assert self.api is not None
            lines.append(
                f"curl -s '{base}{FS}/runs?property=flowId=={self.state['flowId']}' "
                f"-H 'Authorization: Bearer {self.api.token()}' "
                f"-H 'x-api-key: {self.state['clientId']}' "
                f"-H 'x-gw-ims-org-id: {ORG}' -H 'x-sandbox-name: {SANDBOX}'"
            )
        for line in lines:
            self.console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)


def quickstart(
    contacts: Annotated[
        int, typer.Option(help="Contacts in the emulated HubSpot portal.")
    ] = 20_000,
    wait: Annotated[
        bool, typer.Option("--wait/--exit", help="Keep the service running until Ctrl-C.")
    ] = True,
) -> None:
    """Run the whole product on embedded defaults: emulator, API, engine, a flow into the lake."""
    from headwater.settings import get_settings

    home = get_settings().home
    console.print(f"[bold]Headwater quickstart[/bold] in {home}")
    code = Quickstart(home, contacts=contacts, console=console).run(wait=wait)
    raise typer.Exit(code)
