"""Lake layout and object-store options from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.lake import Lake, storage_options_from_env
from headwater.lake.storage import join_uri


def test_table_uri_layout_for_local_and_object_store_roots(tmp_path: Path) -> None:
    local = Lake(str(tmp_path / "lake"))
    assert local.table_uri("ORG@AdobeOrg", "prod", "ds1") == str(
        tmp_path / "lake" / "ORG@AdobeOrg" / "prod" / "ds1"
    )
    remote = Lake("s3://bucket/prefix/")
    assert (
        remote.table_uri("ORG@AdobeOrg", "prod", "ds1")
        == "s3://bucket/prefix/ORG@AdobeOrg/prod/ds1"
    )


@pytest.mark.parametrize("segment", ["", "a/b", "..", "."])
def test_path_segments_cannot_escape_the_lake(segment: str) -> None:
    with pytest.raises(ValueError, match="segment"):
        join_uri("s3://bucket", segment)


def test_storage_options_from_the_usual_aws_variables() -> None:
    options = storage_options_from_env(
        {
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "tok",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "HOME": "/root",
            "AWS_PROFILE": "",
        }
    )
    assert options == {
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "tok",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ALLOW_HTTP": "true",
    }


def test_region_and_endpoint_precedence_and_explicit_allow_http() -> None:
    options = storage_options_from_env(
        {
            "AWS_REGION": "us-east-2",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://generic:1",
            "AWS_ENDPOINT_URL_S3": "http://s3-only:2",
            "AWS_ALLOW_HTTP": "0",
        }
    )
    assert options == {
        "AWS_REGION": "us-east-2",
        "AWS_ENDPOINT_URL": "http://s3-only:2",
        "AWS_ALLOW_HTTP": "false",
    }


def test_no_variables_no_options() -> None:
    assert storage_options_from_env({}) == {}
    assert "AWS_ALLOW_HTTP" not in storage_options_from_env(
        {"AWS_ENDPOINT_URL": "https://s3.example"}
    )
