"""Fixtures for the lake tests: a local lake in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.lake import Lake, TableRef


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A local lake in a temporary directory."""
    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def table() -> TableRef:
    return TableRef("ORG1@AdobeOrg", "prod", "ds1")
