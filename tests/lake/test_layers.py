"""The lake stays below the service layer: no FastAPI, no SQLAlchemy, no settings."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_lake_pulls_in_no_web_or_database_framework() -> None:
    code = (
        "import sys, headwater.lake, headwater.lake.query;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'pydantic_settings') "
        "or m in ('headwater.settings', 'headwater.api', 'headwater.store', 'headwater.services'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
