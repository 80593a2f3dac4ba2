"""Runs Singer's ``tap-hubspot`` (contacts only) against an emulator; executed by the peer's own venv.

    python peer_singer.py BASE_URL TOKEN WORKDIR

Discovers, selects the contacts stream with every property, syncs from ``WORKDIR/state.json``
when it exists, writes the RECORD messages to ``WORKDIR/records.jsonl`` (the tap's natural
destination is a Singer target reading stdout; a file is the cheapest one) and the last STATE to
``WORKDIR/state.json``.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

import tap_hubspot

base, token, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
tap_hubspot.BASE_URL = base.rstrip("/")
config = work / "config.json"
config.write_text(
    json.dumps({"access_token": token, "api_key": token, "start_date": "2000-01-01T00:00:00Z"})
)
catalog_path = work / "catalog.json"
if not catalog_path.exists():
    buf = io.StringIO()
    sys.argv = ["tap-hubspot", "--config", str(config), "--discover"]
    with contextlib.redirect_stdout(buf):
        tap_hubspot.main()
    catalog = json.loads(buf.getvalue())
    streams = [s for s in catalog["streams"] if s["tap_stream_id"] == "contacts"]
    for stream in streams:
        for entry in stream["metadata"]:
            entry["metadata"]["selected"] = True
    catalog_path.write_text(json.dumps({"streams": streams}))

state_path = work / "state.json"
args = ["tap-hubspot", "--config", str(config), "--properties", str(catalog_path)]
if state_path.exists():
    args += ["--state", str(state_path)]
sys.argv = args
out_path = work / "records.jsonl"


class Sink(io.TextIOBase):
    """Keeps RECORD lines in the file and the last STATE line in memory."""

    def __init__(self) -> None:
        self.file = out_path.open("w")
        self.state = None
        self.buf = ""

    def write(self, s: str) -> int:
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line.startswith('{"type": "STATE"') or line.startswith('{"type":"STATE"'):
                self.state = line
            elif '"RECORD"' in line[:30]:
                self.file.write(line + "\n")
        return len(s)


sink = Sink()
with contextlib.redirect_stdout(sink):
    tap_hubspot.main()
sink.file.close()
if sink.state:
    state_path.write_text(json.dumps(json.loads(sink.state)["value"]))
