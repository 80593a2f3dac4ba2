"""A home's settings file: under the environment and explicit overrides, kept when recorded to,
and reported in one line when broken."""

from __future__ import annotations

import tomllib

from headwater.settings import get_settings, record_home_settings
from tests.cli.conftest import Operator, clean_env


def test_the_settings_file_sits_under_the_environment_and_overrides(tmp_path, monkeypatch) -> None:
    for name in ("HEADWATER_HOME", "HEADWATER_HUBSPOT_BASE_URL", "HEADWATER_TOKEN_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    assert get_settings(home=tmp_path).hubspot_base_url == "https://api.hubapi.com"
    path = record_home_settings(tmp_path, hubspot_base_url="http://file", token_ttl_seconds=60)
    assert path == tmp_path / "settings.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    from_file = get_settings(home=tmp_path)
    assert (from_file.hubspot_base_url, from_file.token_ttl_seconds) == ("http://file", 60)

    monkeypatch.setenv("HEADWATER_HUBSPOT_BASE_URL", "http://env")
    assert get_settings(home=tmp_path).hubspot_base_url == "http://env"
    assert get_settings(home=tmp_path).token_ttl_seconds == 60  # the rest still from the file
    assert get_settings(home=tmp_path, hubspot_base_url="http://arg").hubspot_base_url == (
        "http://arg"
    )

    # The home itself may come from the environment; the file is the one of that home.
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    monkeypatch.delenv("HEADWATER_HUBSPOT_BASE_URL")
    assert get_settings().hubspot_base_url == "http://file"

    # Recording keeps what it does not name, and None removes a setting.
    record_home_settings(tmp_path, hubspot_base_url=None)
    assert tomllib.loads(path.read_text()) == {"token_ttl_seconds": 60}


def test_a_broken_settings_file_is_one_line_naming_it(tmp_path) -> None:
    (tmp_path / "settings.toml").write_text("hubspot_base_ur = 'x'\n")
    op = Operator(tmp_path, clean_env(tmp_path))
    out = op.run("doctor")
    assert out.returncode == 1
    assert out.stderr == (
        f"error: {tmp_path / 'settings.toml'}: unknown setting(s) hubspot_base_ur\n"
    )
    (tmp_path / "settings.toml").write_text("token_ttl_seconds = 'soon'\n")
    bad = op.run("orgs", "list")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: invalid settings (token_ttl_seconds: ")
    (tmp_path / "settings.toml").write_text("[[\n")
    assert "is not valid TOML" in op.run("orgs", "list").stderr


def test_the_servers_hubspot_read_settings_reach_its_connectors(tmp_path, monkeypatch) -> None:
    import logging

    from headwater.connectors.hubspot import HubSpotSettings
    from headwater.runtime import build_context

    monkeypatch.setenv("HEADWATER_HUBSPOT_LOOKBACK_SECONDS", "42")
    monkeypatch.setenv("HEADWATER_HUBSPOT_DELETES_EVERY_SECONDS", "0")
    record_home_settings(tmp_path, hubspot_associations_every_seconds=600)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ctx = build_context(get_settings(home=tmp_path))
    root.handlers[:] = handlers  # build_context sets up the server's logging
    root.setLevel(level)
    try:
        hubspot = ctx.connector_settings.get(HubSpotSettings)
        assert (hubspot.lookback_ms, hubspot.deletes_every_ms, hubspot.associations_every_ms) == (
            42_000,
            0,
            600_000,
        )
    finally:
        ctx.engine.dispose()
