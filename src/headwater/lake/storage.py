"""Lake locations: URIs, object-store options built from the usual AWS variables, and deletes.

Every function here takes plain arguments; the composition root reads the environment and
passes the mapping in (``storage_options_from_env(os.environ)``).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "delete_tree",
    "is_local_uri",
    "join_uri",
    "list_children",
    "local_path",
    "round_trips",
    "storage_options_from_env",
]

_TRUE = {"1", "true", "yes", "on"}

#: Extra object_store keys that are passed through unchanged when present in the environment.
_PASSTHROUGH = (
    "AWS_SESSION_TOKEN",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
    "AWS_CONDITIONAL_PUT",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    "AWS_S3_LOCKING_PROVIDER",
    "AWS_PROFILE",
)


def storage_options_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """Object-store options for delta-rs from AWS-style environment variables.

    Reads ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
    ``AWS_REGION`` (else ``AWS_DEFAULT_REGION``), ``AWS_ENDPOINT_URL_S3`` (else
    ``AWS_ENDPOINT_URL``) and ``AWS_ALLOW_HTTP``. A custom endpoint with an ``http://`` scheme
    turns ``AWS_ALLOW_HTTP`` on unless it is set explicitly. Empty values are ignored.
    """
    values = {k: v for k, v in env.items() if v.strip()}
    options: dict[str, str] = {}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *_PASSTHROUGH):
        if key in values:
            options[key] = values[key]
    region = values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION")
    if region:
        options["AWS_REGION"] = region
    endpoint = values.get("AWS_ENDPOINT_URL_S3") or values.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
    if "AWS_ALLOW_HTTP" in values:
        options["AWS_ALLOW_HTTP"] = "true" if values["AWS_ALLOW_HTTP"].lower() in _TRUE else "false"
    elif endpoint and endpoint.lower().startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    return options


def is_local_uri(uri: str) -> bool:
    """True for a filesystem path or a ``file://`` URI."""
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/"))


def local_path(uri: str) -> Path:
    """The filesystem path of a local URI."""
    if uri.startswith("file://"):
        return Path(urlparse(uri).path)
    return Path(uri)


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a path or URI with ``/``."""
    for part in parts:
        if not part or "/" in part or part in (".", ".."):
            msg = f"invalid lake path segment {part!r}"
            raise ValueError(msg)
    if is_local_uri(base):
        return str(local_path(base).joinpath(*parts))
    return "/".join([base.rstrip("/"), *parts])


def delete_tree(uri: str, storage_options: Mapping[str, str] | None = None) -> None:
    """Delete everything under ``uri`` (a directory or an object-store prefix); missing is fine."""
    if is_local_uri(uri):
        shutil.rmtree(local_path(uri), ignore_errors=True)
        return
    from deltalake.fs import DeltaStorageHandler

    parent, _, name = uri.rstrip("/").rpartition("/")
    if not name or parent.endswith(":/"):
        msg = f"refusing to delete a bucket root: {uri}"
        raise ValueError(msg)
    handler = DeltaStorageHandler(parent, dict(storage_options or {}))
    handler.delete_dir(name)


def list_children(uri: str, storage_options: Mapping[str, str] | None = None) -> list[str]:
    """Names of the direct children (directories or prefixes) of ``uri``, sorted."""
    if is_local_uri(uri):
        path = local_path(uri)
        if not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir() if p.is_dir())
    from deltalake.fs import DeltaStorageHandler
    from pyarrow.fs import FileSelector, FileType

    handler = DeltaStorageHandler(uri, dict(storage_options or {}))
    infos = handler.get_file_info_selector(FileSelector("", allow_not_found=True, recursive=False))
    return sorted(
        info.base_name for info in infos if info.type == FileType.Directory and info.base_name
    )


def round_trips(
    uri: str, name: str, payload: bytes, storage_options: Mapping[str, str] | None = None
) -> bool:
    """Write ``payload`` to the file ``name`` right under ``uri``, read it back and delete it:
    whether the same bytes came back (a local directory is created when missing)."""
    if is_local_uri(uri):
        root = local_path(uri).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        probe = root / name
        try:
            probe.write_bytes(payload)
            return probe.read_bytes() == payload
        finally:
            probe.unlink(missing_ok=True)
    from deltalake.fs import DeltaStorageHandler
    from pyarrow.fs import PyFileSystem

    fs = PyFileSystem(DeltaStorageHandler(uri, dict(storage_options or {})))
    with fs.open_output_stream(name) as out:
        out.write(payload)
    try:
        with fs.open_input_stream(name) as inp:
            return bool(inp.read() == payload)
    finally:
        fs.delete_file(name)
