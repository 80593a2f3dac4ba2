"""The mapping engine sits beside domain: importing it pulls in no Headwater layer above it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_mapping_engine_pulls_in_no_higher_layer() -> None:
    code = (
        "import sys, headwater.mapping;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'deltalake') "
        "or m.startswith(('headwater.services', 'headwater.store', 'headwater.api', "
        "'headwater.lake', 'headwater.connectors', 'headwater.engine', 'headwater.settings')));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
