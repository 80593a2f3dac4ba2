"""Request-body pieces shared by route modules: spec references and JSON Patch bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Header
from pydantic import BaseModel, ConfigDict, Field


# A ``connectionSpec`` / ``flowSpec`` reference (comments, not docstrings: a docstring would
# become the schema's description in the OpenAPI document).
class SpecRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    version: str | None = Field(default=None, max_length=32)


# One JSON Patch operation; the service checks it against the resource's patchable fields.
class PatchOp(BaseModel):
    model_config = ConfigDict(extra="allow")
    op: str
    path: str
    value: Any = None


PatchBody = Annotated[list[PatchOp], Body()]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def patch_ops(ops: list[PatchOp]) -> list[dict[str, Any]]:
    """The operations as the client sent them (a ``value`` it left out stays out)."""
    return [op.model_dump(exclude_unset=True) for op in ops]
