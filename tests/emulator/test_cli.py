"""``headwater emulator hubspot`` as a real subprocess: JSON line, credentials that work, clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HEADWATER = Path(sys.executable).with_name("headwater")


@contextmanager
def _serve(*args: str, stop: int = signal.SIGTERM) -> Iterator[tuple[dict[str, object], list[str]]]:
    """Run the CLI; yield its ready output (the JSON line parsed, or the text block up to the
    ``Admin:`` line) and, after the stop, its stderr."""
    cmd = [str(HEADWATER), "emulator", "hubspot", "--port", "0", *args]
    stderr: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = proc.stdout.readline()
        text = line
        while line and not line.startswith("{") and not line.lstrip().startswith("Admin:"):
            line = proc.stdout.readline()
            text += line
        try:
            assert text, "the emulator did not start"
            yield (json.loads(text) if text.startswith("{") else {"text": text}), stderr
        finally:
            proc.send_signal(stop)
            proc.wait(timeout=15)
            stderr.append(proc.stderr.read())


def test_cli_prints_one_json_line_and_serves_until_sigterm() -> None:
    with _serve(
        "--json",
        "--contacts",
        "2500",
        "--seed",
        "9",
        "--rate-limit",
        "private-app",
        "--faults",
        "503:0",
    ) as (info, stderr):
        assert set(info) >= {
            "base_url",
            "oauth_client_id",
            "oauth_client_secret",
            "refresh_token",
            "private_app_token",
            "portal_id",
        }
        base = str(info["base_url"])
        r = httpx.get(
            f"{base}/crm/v3/objects/contacts",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {info['private_app_token']}"},
        )
        assert r.status_code == 200
        assert r.headers["x-hubspot-ratelimit-max"] == "190"
        token = httpx.post(
            f"{base}/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": info["oauth_client_id"],
                "client_secret": info["oauth_client_secret"],
                "refresh_token": info["refresh_token"],
            },
        ).json()
        assert token["expires_in"] == 1800
        counts = httpx.get(f"{base}/_emulator/info").json()
        # --contacts N means N live contacts; the archived seed records come on top
        assert counts["records"]["contacts"] == 2500
        assert counts == {**counts, "records": info["records"], "archived": info["archived"]}
        assert 0 < counts["archived"]["contacts"] < 60
        live, after = 0, None
        while True:
            page = httpx.get(
                f"{base}/crm/v3/objects/contacts",
                params={"limit": 100, **({"after": after} if after else {})},
                headers={"Authorization": f"Bearer {info['private_app_token']}"},
            ).json()
            live += len(page["results"])
            if "paging" not in page:
                break
            after = page["paging"]["next"]["after"]
        assert live == 2500
    assert "Traceback" not in stderr[0]


def test_cli_human_output_and_bad_options() -> None:
    with _serve(
        "--contacts", "10", "--token-ttl", "60", "--search-index-lag-ms", "0", stop=signal.SIGINT
    ) as (info, _):
        text = str(info["text"])
        assert text.startswith("HubSpot emulator listening on http://127.0.0.1:")
        assert "contacts=10 (+" in text
        assert "Search index lag: 0 ms" in text
    bad = subprocess.run(
        [str(HEADWATER), "emulator", "hubspot", "--rate-limit", "sometimes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert "--rate-limit" in bad.stderr
    bad = subprocess.run(
        [str(HEADWATER), "emulator", "hubspot", "--faults", "teapot:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert "--faults" in bad.stderr
