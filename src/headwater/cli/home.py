"""What ``headwater quickstart`` leaves in its home, so that the next commands work there as they
are printed: the HubSpot it set up (in the home's settings file, read by every later command), a
profile for its API client (the default one when the home has none), and the commands to try."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.cli.remote.output import shell_command
from headwater.cli.remote.profiles import Profile, load_book, save_book, select, store_token
from headwater.errors import ConfigurationError, QuickstartError

if TYPE_CHECKING:
    from headwater.settings import HubSpotEmulatorSettings

# headwater.settings (pydantic) is imported when a function needs it: `headwater --help` and the
# operator commands start without it.

PROFILE = "quickstart"

#: How a home whose HubSpot is the bundled emulator reads it: the emulator runs without rate
#: limits, and the demo shows deletions on every run.
EMULATOR_TUNING: dict[str, int] = {
    "hubspot_deletes_every_seconds": 0,
    "hubspot_burst_budget": 100_000,
    "hubspot_search_per_second": 100,
}

#: The settings :func:`remember_hubspot` writes; the quickstart's own server must not take them
#: from its environment instead.
RECORDED = ("hubspot_base_url", "hubspot_emulator", *EMULATOR_TUNING)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens there (a home keeps its addresses), else any."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recorded_emulator(home: Path) -> HubSpotEmulatorSettings | None:
    from headwater.settings import HubSpotEmulatorSettings, read_home_settings

    raw = read_home_settings(home).get("hubspot_emulator")
    return HubSpotEmulatorSettings.model_validate(raw) if isinstance(raw, dict) else None


def remember_hubspot(home: Path, emulator: HubSpotEmulatorSettings) -> Path:
    """Make the bundled emulator this home's HubSpot, in its settings file; refuse a home whose
    settings name another HubSpot (its connections would silently read the emulator)."""
    from headwater.settings import read_home_settings, record_home_settings

    stored = read_home_settings(home)
    configured = stored.get("hubspot_base_url")
    if configured and "hubspot_emulator" not in stored and configured != emulator.base_url:
        raise QuickstartError(
            f"{home / 'settings.toml'} sets hubspot_base_url = {configured}; the quickstart would "
            "point this home's HubSpot connections at its emulator. Run it in another home: "
            "HEADWATER_HOME=~/headwater-quickstart headwater quickstart"
        )
    return record_home_settings(
        home, hubspot_base_url=emulator.base_url, hubspot_emulator=emulator, **EMULATOR_TUNING
    )


def _variables() -> set[str]:
    return {f"HEADWATER_{name.upper()}" for name in RECORDED}


def server_environment(home: Path) -> dict[str, str]:
    """The environment of the quickstart's ``headwater serve``: this home, whose settings file
    (not variables of the shell the quickstart runs in) says which HubSpot to read."""
    env = {k: v for k, v in os.environ.items() if k not in _variables()}
    env["HEADWATER_HOME"] = str(home)
    return env


def overriding_variables() -> list[str]:
    """The ``HEADWATER_*`` variables of this shell that override what the home records."""
    return sorted(_variables() & set(os.environ))


def previous_profile(home: Path) -> Profile | None:
    return load_book(home).profiles.get(PROFILE)


def remember_profile(home: Path, profile: Profile) -> Path:
    """Store the quickstart's profile (secret included, in the mode-0600 profile file, as
    ``headwater login`` does); it becomes the default when the home has none."""
    book = load_book(home)
    old = book.profiles.get(profile.name)
    if old is not None and old != profile:
        store_token(home, old, None)  # its cached token belongs to the server it pointed at
    book.profiles[profile.name] = profile
    if book.default not in book.profiles:
        book.default = profile.name
    return save_book(home, book)


def selected_by_default(home: Path, name: str) -> bool:
    """Whether a command without ``--profile`` uses profile ``name`` here."""
    try:
        return select(load_book(home), None).name == name
    except ConfigurationError:
        return False


def next_commands(home: Path, *, flow_id: str, org: str, running: bool) -> list[str]:
    """``headwater`` commands that work in this home exactly as printed (``HEADWATER_HOME`` and
    ``--profile`` spelled out when a bare command would not pick them)."""
    profile = [] if selected_by_default(home, PROFILE) else ["--profile", PROFILE]
    sql = 'SELECT count(*) AS contacts, max("Updated_At") AS newest FROM hubspot_contacts'
    local = [["query", "--org", org, sql], ["doctor", *profile]]
    if not running:
        return [shell_command(args, home=home) for args in local]
    remote = [
        ["flows", "list", *profile],
        ["flows", "run", flow_id, "--watch", *profile],
        ["runs", "list", *profile],
    ]
    return [shell_command(args, home=home) for args in (*remote, *local)]


def ui_address(base: str) -> str | None:
    """The UI's address when the server serves one (``GET /ui`` answers 200)."""
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        if httpx.get(base + "/ui", timeout=5, follow_redirects=True).status_code == 200:
            return base + "/ui"
    return None
