"""Local admin commands and operator commands report errors through the same renderer."""

from __future__ import annotations

import pytest

from tests.cli.conftest import ONE_LINE_ERROR, Operator, clean_env


@pytest.mark.usefixtures("own_logging")
def test_local_commands_end_in_the_code_the_api_would_answer(tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    missing = op.run("clients", "create", "--org", "NOPE0000@AdobeOrg", "--name", "x")
    assert missing.returncode == 1
    assert ONE_LINE_ERROR.match(missing.stderr), missing.stderr
    assert missing.stderr.endswith("[FLOW-1101-404]\n")
    assert "NOPE0000@AdobeOrg" in missing.stderr

    op.ok("orgs", "create", "ERRS0000@AdobeOrg")
    client = op.json("clients", "create", "--org", "ERRS0000@AdobeOrg", "--name", "x")
    refused = op.run("token", "--client-id", client["clientId"], "--client-secret", "wrong")
    assert refused.returncode == 1
    assert refused.stderr.endswith("[invalid_client]\n"), refused.stderr

    # A usage error of click's own exits 2 with the usage, as before.
    assert op.run("orgs", "create").returncode == 2


def test_debug_lets_a_local_error_raise(tmp_path) -> None:
    op = Operator(tmp_path, clean_env(tmp_path))
    out = op.binary("--debug", "clients", "create", "--org", "NOPE0000@AdobeOrg", "--name", "x")
    assert out.returncode == 1
    assert "Traceback" in out.stderr and "NotFoundError" in out.stderr
