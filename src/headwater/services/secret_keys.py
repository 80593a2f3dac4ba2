"""Secret-key rotation: re-encrypt every stored secret (connection credentials, webhook signing
secrets) with the keyring's first key, in small batches, while the service keeps answering.

Each batch is one short transaction; a row is rewritten by compare-and-swap on its etag (which
stays: a rotation is not an edit), so a concurrent edit wins and is simply seen again on the next
pass. Passes repeat until no secret under an old key is left (a process that has not reloaded the
keyring yet may still write one for up to a second)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigurationError
from headwater.services import connections, webhooks
from headwater.services.context import ServiceContext
from headwater.store import resources as store
from headwater.store.resources import StoredResource
from headwater.store.secrets import (
    SecretBox,
    add_key_to_file,
    load_key_material,
    write_key_file,
)

#: Every kind whose resources hold a sealed blob, and the associated data it is sealed with.
SEALED: dict[str, Callable[[str], bytes]] = {
    connections.KIND: connections.secret_context,
    webhooks.KIND: webhooks.secret_context,
}


@dataclass(frozen=True, slots=True)
class Rotation:
    rewritten: int
    #: secrets still under another key than the primary one (0 once the rotation is complete)
    remaining: int
    passes: int
    key_id: str


def stale_secrets(ctx: ServiceContext, *, batch_size: int = 500) -> int:
    """How many stored secrets are not sealed with the primary key."""
    primary = ctx.box.primary_key_id
    return sum(len(stale) for kind in SEALED for stale in _stale(ctx, kind, primary, batch_size))


def _stale(
    ctx: ServiceContext, kind: str, primary: str, batch_size: int
) -> Iterator[list[StoredResource]]:
    """The resources of ``kind`` sealed under another key than ``primary``, a page at a time
    (each page read in its own short connection, in id order)."""
    after = ""
    while True:
        with ctx.engine.connect() as conn:
            page = store.read_sealed_page(conn, kind=kind, after_id=after, limit=batch_size)
        if not page:
            return
        after = page[-1].id
        stale = [r for r in page if r.secrets and ctx.box.key_id_of(r.secrets) != primary]
        if stale:
            yield stale


def rotate(
    ctx: ServiceContext,
    *,
    batch_size: int = 100,
    pause_s: float = 0.0,
    max_passes: int = 10,
    settle_s: float = 1.5,
) -> Rotation:
    """Re-encrypt every secret not under the primary key; ``pause_s`` between batches leaves
    the database to the service under load."""
    rewritten = 0
    passes = 0
    while passes < max_passes:
        passes += 1
        primary = ctx.box.primary_key_id
        missed = 0
        for kind, aad in SEALED.items():
            for todo in _stale(ctx, kind, primary, batch_size):
                with ctx.engine.begin() as conn:
                    for res in todo:
                        assert res.secrets is not None
                        values = ctx.box.decrypt(res.secrets, context=aad(res.id))
                        res.secrets = ctx.box.encrypt(values, context=aad(res.id))
                        if store.update_resource(conn, res=res, expected_etag=res.etag):
                            rewritten += 1
                        else:
                            missed += 1  # edited meanwhile: the edit sealed it; seen next pass
                if pause_s:
                    time.sleep(pause_s)
        if missed == 0:
            if stale_secrets(ctx) == 0:
                break
            time.sleep(settle_s)  # a process still on the old keyring wrote one; let it reload
    return Rotation(rewritten, stale_secrets(ctx), passes, ctx.box.primary_key_id)


def add_key(key_file: Path, *, wait: bool = True) -> str:
    """Put a new key first in the key file; with ``wait``, give every running process the time
    to re-read it. Returns the new key's id."""
    key_id = add_key_to_file(key_file)
    if wait:
        time.sleep(2 * SecretBox.RELOAD_EVERY_S)
    return key_id


def drop_old_keys(ctx: ServiceContext, key_file: Path) -> int:
    """Keep only the first key of the key file once no stored secret needs another; returns how
    many keys were dropped."""
    stale = stale_secrets(ctx)
    if stale:
        raise ConfigurationError(
            f"{stale} stored secret(s) still need an older key: run headwater secrets rotate"
        )
    keys = [k.strip() for k in load_key_material(configured=None, key_file=key_file).split(",")]
    write_key_file(key_file, keys[0])
    return len(keys) - 1
