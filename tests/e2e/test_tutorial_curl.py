"""The tutorial's own curl requests (every translation in ../shared/seeds), run verbatim with curl
against ``headwater serve``; only the host and the header placeholders are filled in."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
CURL_BLOCK = re.compile(r"```(?:shell|bash|sh)\n(curl .*?)```", re.S)


def _curl_commands() -> list[tuple[str, str]]:
    if not SEEDS.is_dir():
        return []
    found = []
    for path in sorted(SEEDS.glob("*.txt")):
        for block in CURL_BLOCK.findall(path.read_text("utf-8")):
            found.append((path.name, block))
    return found


COMMANDS = _curl_commands()


def _argv(block: str, live: LiveServer) -> list[str]:
    text = block.replace("\\\n", " ").strip()
    if text.count("'") % 2:  # one translation drops the closing quote of -d
        text += "'"
    argv = shlex.split(text)
    out = []
    fill = {
        "{ACCESS_TOKEN}": live.token,
        "{API_KEY}": live.client_id,
        "{IMS_ORG}": live.org_id,
        "{ORG_ID}": live.org_id,
        "{SANDBOX_NAME}": "prod",
    }
    prev = ""
    for arg in argv:
        if prev == "-H":
            for k, v in fill.items():
                arg = arg.replace(k, v)
        if arg.startswith("https://platform.adobe.io"):
            arg = live.base_url + arg[len("https://platform.adobe.io") :]
        out.append(arg)
        prev = arg
    return out


@pytest.mark.e2e
@pytest.mark.skipif(not COMMANDS, reason="../shared/seeds is not present: no tutorial to replay")
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(
    ("seed", "block"), COMMANDS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(COMMANDS)]
)
def test_tutorial_curl_verbatim(live: LiveServer, seed: str, block: str) -> None:
    argv = _argv(block, live)
    assert argv[0] == "curl"
    res = subprocess.run(
        [*argv, "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    body_text, status = res.stdout.rsplit("\n", 1)
    body = json.loads(body_text)
    if "-X POST" in block or "POST" in argv:
        assert status == "201", body_text
        assert set(body) == {"id", "etag"}
    else:
        assert status == "200", body_text
        assert body["items"][0]["id"] == "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
