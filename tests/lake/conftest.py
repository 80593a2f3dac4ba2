"""Fixtures for the lake tests: a local lake in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.lake import Lake, TableRef


@pytest.fixture(params=["rewrite", "delta-rs"])
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Lake:
    """A local lake, once per MERGE engine (streaming rewrite and delta-rs's MERGE)."""
    return Lake(str(tmp_path / "lake"), rewrite_merge=request.param == "rewrite")


@pytest.fixture
def table() -> TableRef:
    return TableRef("ORG1@AdobeOrg", "prod", "ds1")
