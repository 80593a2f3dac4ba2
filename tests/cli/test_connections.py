"""Login, profiles, tokens and connections through the operator CLI against a live server."""

from __future__ import annotations

import json
import tomllib

from tests.cli.conftest import ONE_LINE_ERROR, Operator, Server, clean_env, hubspot_connection


def test_login_stores_a_private_profile_and_the_cli_uses_only_the_api(
    server: Server, operator: Operator
) -> None:
    profiles = operator.home / "profiles.toml"
    assert profiles.stat().st_mode & 0o777 == 0o600
    stored = tomllib.loads(profiles.read_text())
    assert stored["default"] == "default"
    assert stored["profiles"]["default"] == {
        "endpoint": server.base_url,
        "org": server.org_id,
        "sandbox": "prod",
        "client_id": server.client_id,
        "client_secret": server.client_secret,
    }
    assert (operator.home / "cli-tokens.json").stat().st_mode & 0o777 == 0o600
    listed = operator.json("profiles", "list")
    assert listed == [
        {
            "name": "default",
            "endpoint": server.base_url,
            "org": server.org_id,
            "sandbox": "prod",
            "client_id": server.client_id,
            "client_secret": "********",
            "default": True,
        }
    ]
    operator.ok("connections", "list")
    # The operator's home holds no database: everything went over HTTP.
    assert sorted(p.name for p in operator.home.iterdir()) == ["cli-tokens.json", "profiles.toml"]


def test_login_with_a_wrong_secret_fails_in_one_line_and_stores_nothing(
    server: Server, tmp_path
) -> None:
    fresh = Operator(tmp_path, clean_env(tmp_path))
    out = fresh.run(
        "login",
        "--endpoint",
        server.base_url,
        "--org",
        server.org_id,
        "--client-id",
        server.client_id,
        "--client-secret",
        "not-the-secret",
    )
    assert out.returncode == 1
    assert ONE_LINE_ERROR.match(out.stderr), out.stderr
    assert "[invalid_client]" in out.stderr
    assert not (tmp_path / "profiles.toml").exists()

    wrong_org = fresh.run(
        "login",
        "--endpoint",
        server.base_url,
        "--org",
        "NOPE0000@AdobeOrg",
        "--client-id",
        server.client_id,
        "--client-secret",
        server.client_secret,
    )
    assert wrong_org.returncode == 1
    assert wrong_org.stderr.endswith("[403025]\n"), wrong_org.stderr

    no_sandbox = fresh.run(
        "login",
        "--endpoint",
        server.base_url,
        "--org",
        server.org_id,
        "--client-id",
        server.client_id,
        "--client-secret",
        server.client_secret,
        "--sandbox",
        "nosuch",
    )
    assert no_sandbox.returncode == 1
    assert no_sandbox.stderr.endswith("[FLOW-2100-404]\n"), no_sandbox.stderr
    assert list(tmp_path.iterdir()) == []  # no profile, no token


def test_list_show_test_and_explore_a_connection(server: Server, operator: Operator) -> None:
    with server.http() as http:
        good = hubspot_connection(http, server.emu, name="cli hubspot")
        bad = hubspot_connection(http, server.emu, name="cli revoked", valid=False)

    listed = operator.json("connections", "list")
    assert isinstance(listed, list)
    by_id = {c["id"]: c for c in listed}
    assert {good, bad} <= set(by_id)
    assert by_id[good]["name"] == "cli hubspot"
    human = operator.ok("connections", "list")
    assert good in human and bad in human and "Basic" in human

    filtered = operator.json("connections", "list", "--property", "name==cli revoked")
    assert [c["id"] for c in filtered] == [bad]
    assert len(operator.json("connections", "list", "--limit", "1")) == 1

    shown = operator.json("connections", "show", good)
    assert shown["id"] == good
    assert shown["auth"]["params"]["accessToken"] == "********"
    assert server.emu.access_token not in operator.ok("connections", "show", good)

    assert operator.json("connections", "test", good) == {"result": True}
    assert f"connection {good} works" in operator.ok("connections", "test", good)
    failed = operator.run("connections", "test", bad)
    assert failed.returncode == 1
    code = ONE_LINE_ERROR.match(failed.stderr)
    assert code and code.group(1).startswith("CONNECTOR-"), failed.stderr
    failed_json = operator.run("connections", "test", bad, "--json")
    assert failed_json.returncode == 1
    assert json.loads(failed_json.stdout)["result"] is False

    usage = operator.run("connections", "explore", good, "--preview")
    assert usage.returncode == 2 and usage.stderr == "error: --preview needs --table\n"

    tables = operator.json("connections", "explore", good)
    assert "Hubspot.Contacts" in {t["name"] for t in tables}
    assert "Hubspot.Contacts" in operator.ok("connections", "explore", good)
    schema = operator.json("connections", "explore", good, "--table", "Hubspot.Contacts")
    columns = [c["name"] for c in schema["schema"]["columns"]]
    assert columns and "data" not in schema
    preview = operator.json(
        "connections", "explore", good, "--table", "Hubspot.Contacts", "--preview", "--limit", "3"
    )
    assert 0 < len(preview["data"]) <= 3
    assert set(preview["data"][0]) <= set(columns)
    human_preview = operator.ok(
        "connections", "explore", good, "--table", "Hubspot.Contacts", "--preview"
    )
    assert columns[0] in human_preview and "sample rows" in human_preview


def test_unknown_ids_give_one_line_with_the_adobe_code(operator: Operator) -> None:
    for args in (
        ("connections", "show", "no-such-connection"),
        ("connections", "test", "no-such-connection"),
        ("flows", "show", "no-such-flow"),
        ("flows", "enable", "no-such-flow"),
        ("runs", "show", "no-such-run"),
        ("datasets", "show", "no-such-dataset"),
    ):
        out = operator.run(*args)
        assert out.returncode == 1, args
        assert out.stdout == "", args
        match = ONE_LINE_ERROR.match(out.stderr)
        assert match, (args, out.stderr)
        assert match.group(1).endswith("-404"), (args, out.stderr)
    # The installed executable: one line on stderr, status 1; --debug shows the trace instead.
    shown = operator.binary("connections", "show", "no-such-connection")
    assert shown.returncode == 1 and shown.stdout == ""
    assert ONE_LINE_ERROR.match(shown.stderr), shown.stderr
    assert shown.stderr.endswith("[FLOW-1101-404]\n")
    assert "no-such-connection" in shown.stderr

    traced = operator.binary("--debug", "connections", "show", "no-such-connection")
    assert traced.returncode == 1
    assert "Traceback" in traced.stderr and "RemoteError" in traced.stderr


def test_an_expired_or_refused_token_is_replaced(operator: Operator) -> None:
    cache_file = operator.home / "cli-tokens.json"
    operator.ok("connections", "list")
    ((key, entry),) = json.loads(cache_file.read_text()).items()

    # The server refuses an unknown token with 401013: the CLI gets a new one and retries.
    cache_file.write_text(json.dumps({key: entry | {"access_token": "forged"}}))
    operator.ok("connections", "list")
    refreshed = json.loads(cache_file.read_text())[key]
    assert refreshed["access_token"] not in ("forged", entry["access_token"])

    # A token past its expiry is not sent at all.
    cache_file.write_text(json.dumps({key: refreshed | {"expires_at": 1.0}}))
    operator.ok("flows", "list")
    renewed = json.loads(cache_file.read_text())[key]
    assert renewed["access_token"] != refreshed["access_token"]
    assert renewed["expires_at"] > 1.0

    # Kept when valid: no new token per command.
    operator.ok("runs", "list")
    assert json.loads(cache_file.read_text())[key] == renewed


def test_profiles_are_selected_by_flag_or_environment(server: Server, operator: Operator) -> None:
    missing = operator.run("connections", "list", "--profile", "staging")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no profile named 'staging'")
    assert operator.run("connections", "list", HEADWATER_PROFILE="staging").returncode == 1
    assert operator.run("connections", "list", "--profile", "default").returncode == 0
    wide = operator.home / "profiles.toml"
    wide.chmod(0o644)
    try:
        refused = operator.run("connections", "list")
        assert refused.returncode == 1 and "chmod 600" in refused.stderr
    finally:
        wide.chmod(0o600)


def test_several_profiles_a_default_and_a_secret_from_the_environment(
    server: Server, tmp_path
) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    assert op.run("connections", "list").stderr.startswith("error: no profile yet")
    common = ("--endpoint", server.base_url, "--org", server.org_id, "--client-id")
    op.ok("login", *common, server.client_id, "--client-secret", server.client_secret)
    # The secret may come from the environment instead of the command line.
    staging = op.run(
        "login",
        *common,
        server.client_id,
        "--profile",
        "staging",
        "--json",
        HEADWATER_CLIENT_SECRET=server.client_secret,
    )
    assert staging.returncode == 0, staging.stderr
    assert json.loads(staging.stdout)["default"] is False  # the first profile stays the default
    assert server.client_secret not in staging.stdout
    book = tomllib.loads((tmp_path / "profiles.toml").read_text())
    assert set(book["profiles"]) == {"default", "staging"} and book["default"] == "default"

    listed = {p["name"]: p["default"] for p in op.json("profiles", "list")}
    assert listed == {"default": True, "staging": False}
    assert op.ok("profiles", "use", "staging") == "default profile: staging\n"
    assert {p["name"]: p["default"] for p in op.json("profiles", "list")} == {
        "default": False,
        "staging": True,
    }
    assert op.run("profiles", "use", "nope").returncode == 1
    assert op.run("connections", "list", "--profile", "default").returncode == 0
