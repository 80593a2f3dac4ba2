"""Forms rendered from a connection spec's authSpec JSON Schema, and read back into params."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from headwater.domain import specs
from headwater.errors import FieldError
from headwater.services import sources

_WORDS = {"id": "ID", "url": "URL", "api": "API", "oauth": "OAuth"}


def display_name(spec: dict[str, Any]) -> str:
    """A source's title from its connector (``ConnectorType.title``), else the spec's name capitalised."""
    title = sources.source_title(str(spec.get("id", "")))
    if title:
        return title
    name = str(spec.get("name", ""))
    return name[:1].upper() + name[1:]


def label_for(prop: str, schema: dict[str, Any]) -> str:
    if isinstance(schema.get("title"), str) and schema["title"].strip():
        return str(schema["title"]).strip().rstrip(".")
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", prop).replace("_", " ").split()
    out = [_WORDS.get(w.lower(), w.lower()) for w in words]
    if out and out[0] == out[0].lower():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


@dataclass
class Field:
    name: str
    label: str
    hint: str
    secret: bool
    required: bool
    html_required: bool
    input_type: str
    value: str = ""
    error: str = ""
    stored: bool = False  # a secret that is stored: blank keeps it


@dataclass
class AuthSection:
    spec_name: str
    title: str
    description: str
    fields: list[Field]
    oauth: bool
    slug: str
    errors: list[str] = field(default_factory=list)


def _input_type(schema: dict[str, Any]) -> str:
    if schema.get("format") == "password":
        return "password"
    if schema.get("type") in ("integer", "number"):
        return "number"
    if schema.get("format") == "uri":
        return "url"
    return "text"


def sections(
    spec: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    only: str | None = None,
    stored_secrets: frozenset[str] = frozenset(),
) -> list[AuthSection]:
    """One section per auth spec. Secret values are never put back into a form."""
    out = []
    for auth in spec.get("authSpec", []):
        if only is not None and auth["name"] != only:
            continue
        schema = auth.get("spec", {})
        required = set(schema.get("required", []))
        # the tokens of an auth spec with an OAuth sign-in are filled in by it
        flow = sources.oauth_flow(spec["id"], auth["name"])
        provided = flow.provided if flow is not None else frozenset()
        fields = []
        for prop, prop_schema in schema.get("properties", {}).items():
            secret = prop_schema.get("format") == "password"
            stored = prop in stored_secrets
            value = "" if secret else (values or {}).get(prop, "")
            fields.append(
                Field(
                    name=prop,
                    label=label_for(prop, prop_schema),
                    hint=str(prop_schema.get("description", "")),
                    secret=secret,
                    required=prop in required,
                    # Tokens the OAuth flow fetches and stored secrets may stay empty in the form.
                    html_required=prop in required and prop not in provided and not stored,
                    input_type=_input_type(prop_schema),
                    value=str(value),
                    error=(errors or {}).get(prop, ""),
                    stored=stored,
                )
            )
        out.append(
            AuthSection(
                spec_name=auth["name"],
                title="OAuth" if provided else auth["name"],
                description=str(schema.get("description", "")),
                fields=fields,
                oauth=bool(provided),
                slug=re.sub(r"[^a-z0-9]+", "-", auth["name"].lower()).strip("-"),
            )
        )
    return out


def read_params(spec: dict[str, Any], spec_name: str, form: dict[str, str]) -> dict[str, Any]:
    """The non-empty values of the auth spec's parameters, typed by the schema."""
    auth = specs.auth_spec(spec, spec_name)
    if auth is None:
        return {}
    params: dict[str, Any] = {}
    for prop, schema in auth.get("spec", {}).get("properties", {}).items():
        raw = form.get(prop, "")
        if raw == "":
            continue
        kind = schema.get("type")
        if kind == "integer" and raw.lstrip("-").isdigit():
            params[prop] = int(raw)
        elif kind == "number":
            try:
                params[prop] = float(raw)
            except ValueError:
                params[prop] = raw
        elif kind == "boolean":
            params[prop] = raw.lower() in {"true", "on", "1", "yes"}
        else:
            params[prop] = raw
    return params


def field_errors(details: list[FieldError]) -> dict[str, str]:
    """Service validation details (``auth.params.clientId``) keyed by the form field name."""
    out: dict[str, str] = {}
    for d in details:
        name = d["field"].rsplit(".", 1)[-1]
        message = d["message"]
        out.setdefault(name, "This field is required." if message == "is required" else message)
    return out
