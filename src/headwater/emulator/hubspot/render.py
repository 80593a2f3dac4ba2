"""JSON shapes of the portal's metadata: property definitions (v3 and legacy), owners, pipelines,
custom-object schemas."""

from __future__ import annotations

from typing import Any

from headwater.emulator.hubspot.associations import AssociationGraph
from headwater.emulator.hubspot.portal_metadata import (
    EPOCH_ISO,
    METADATA_CREATED_ISO,
    METADATA_CREATED_MS,
    METADATA_UPDATED_ISO,
    METADATA_UPDATED_MS,
    ObjectType,
    Owner,
    Pipeline,
    PropDef,
)
from headwater.emulator.hubspot.values import iso_ms


def property_v3(p: PropDef, order: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name,
        "label": p.label,
        "type": p.type,
        "fieldType": p.field_type,
        "description": p.description,
        "groupName": p.group,
        "options": [
            {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": ""}
            for i, (value, label) in enumerate(p.options)
        ],
        "displayOrder": order if p.hubspot_defined else -1,
        "calculated": False,
        "externalOptions": p.referenced_object_type is not None,
        "hasUniqueValue": p.unique,
        "hidden": False,
        "hubspotDefined": p.hubspot_defined,
        "formField": not p.read_only,
        "dataSensitivity": "non_sensitive",
        "modificationMetadata": {
            "archivable": not p.hubspot_defined,
            "readOnlyDefinition": p.hubspot_defined,
            "readOnlyValue": p.read_only,
            "readOnlyOptions": p.hubspot_defined,
        },
        "createdAt": METADATA_CREATED_ISO,
        "updatedAt": METADATA_UPDATED_ISO,
        "archived": False,
    }
    if p.referenced_object_type:
        out["referencedObjectType"] = p.referenced_object_type
    if p.number_display_hint:
        out["numberDisplayHint"] = p.number_display_hint
    if p.text_display_hint:
        out["textDisplayHint"] = p.text_display_hint
    if not p.hubspot_defined:
        out["createdUserId"] = "123"
        out["updatedUserId"] = "123"
    return out


def property_legacy(p: PropDef, order: int) -> dict[str, Any]:
    """The ``/properties/v1|v2`` shape: epoch-ms integers and the legacy flags."""
    return {
        "name": p.name,
        "label": p.label,
        "description": p.description,
        "groupName": p.group,
        "type": p.type,
        "fieldType": p.field_type,
        "options": [
            {
                "label": label,
                "value": value,
                "displayOrder": i,
                "hidden": False,
                "description": "",
                "readOnly": False,
                "doubleData": None,
            }
            for i, (value, label) in enumerate(p.options)
        ],
        "displayOrder": order,
        "readOnlyValue": p.read_only,
        "readOnlyDefinition": p.hubspot_defined,
        "hidden": False,
        "mutableDefinitionNotDeletable": p.hubspot_defined,
        "favorited": False,
        "favoritedOrder": -1,
        "calculated": False,
        "externalOptions": p.referenced_object_type is not None,
        "displayMode": "current_value",
        "formField": not p.read_only,
        "hubspotDefined": p.hubspot_defined or None,
        "hasUniqueValue": p.unique,
        "deleted": False,
        "createdAt": METADATA_CREATED_MS,
        "updatedAt": METADATA_UPDATED_MS,
        "createdUserId": None,
        "updatedUserId": None,
        "showCurrencySymbol": p.number_display_hint == "currency" or None,
        "numberDisplayHint": p.number_display_hint,
        "textDisplayHint": p.text_display_hint,
        "referencedObjectType": p.referenced_object_type,
    }


def property_groups(t: ObjectType) -> list[dict[str, Any]]:
    names: list[str] = []
    for p in t.properties:
        if p.group not in names:
            names.append(p.group)
    return [
        {"name": g, "label": g.replace("_", " ").title(), "displayOrder": i, "archived": False}
        for i, g in enumerate(names)
    ]


def owner(o: Owner) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(o.id),
        "email": o.email,
        "type": o.type,
        "firstName": o.first_name,
        "lastName": o.last_name,
        "createdAt": iso_ms(o.created_ms),
        "updatedAt": iso_ms(o.updated_ms),
        "archived": o.archived,
    }
    if o.user_id is not None:
        out["userId"] = o.user_id
        out["userIdIncludingInactive"] = o.user_id
    if o.team is not None:
        out["teams"] = [{"id": o.team[0], "name": o.team[1], "primary": True}]
    return out


def _stage_metadata(p: Pipeline, extra: str) -> dict[str, str]:
    if p.object_type == "tickets":
        return {"ticketState": extra, "isClosed": "true" if extra == "CLOSED" else "false"}
    closed = extra in ("1.0", "0.0")
    return {"isClosed": "true" if closed else "false", "probability": extra}


def pipeline_v3(p: Pipeline) -> dict[str, Any]:
    created = EPOCH_ISO if p.default else METADATA_CREATED_ISO
    return {
        "id": p.id,
        "label": p.label,
        "displayOrder": p.display_order,
        "archived": False,
        "createdAt": created,
        "updatedAt": METADATA_UPDATED_ISO if p.updated_ms is None else iso_ms(p.updated_ms),
        "stages": [pipeline_stage_v3(p, i) for i in range(len(p.stages))],
    }


def pipeline_stage_v3(p: Pipeline, i: int) -> dict[str, Any]:
    sid, label, extra = p.stages[i]
    added = p.stage_created_ms(sid)
    created = EPOCH_ISO if p.default else METADATA_CREATED_ISO
    return {
        "id": sid,
        "label": label,
        "displayOrder": i,
        "metadata": _stage_metadata(p, extra),
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        "createdAt": created if added is None else iso_ms(added),
        "updatedAt": METADATA_UPDATED_ISO if added is None else iso_ms(added),
        "archived": False,
    }


def pipeline_legacy(p: Pipeline, type_id: str) -> dict[str, Any]:
    created = 0 if p.default else METADATA_CREATED_MS
    return {
        "pipelineId": p.id,
        "label": p.label,
        "displayOrder": p.display_order,
        "active": True,
        "objectType": "DEAL" if p.object_type == "deals" else "TICKET",
        "objectTypeId": type_id,
        "createdAt": created,
        "updatedAt": METADATA_UPDATED_MS,
        "default": p.default,
        "stages": [
            {
                "stageId": sid,
                "label": label,
                "displayOrder": i,
                "active": True,
                "metadata": _stage_metadata(p, extra),
                "createdAt": created,
                "updatedAt": METADATA_UPDATED_MS,
            }
            for i, (sid, label, extra) in enumerate(p.stages)
        ],
    }


def schema(
    t: ObjectType, graph: AssociationGraph, types: dict[str, ObjectType], portal_id: int
) -> dict[str, Any]:
    assoc = []
    for src, dst in graph.pairs():
        if src != t.name:
            continue
        for label in graph.labels(src, dst):
            assoc.append(
                {
                    "id": str(label.type_id),
                    "name": label.v3_name,
                    "fromObjectTypeId": t.type_id,
                    "toObjectTypeId": types[dst].type_id,
                    "createdAt": METADATA_CREATED_ISO,
                    "updatedAt": METADATA_UPDATED_ISO,
                }
            )
    return {
        "id": t.type_id.split("-", 1)[1],
        "objectTypeId": t.type_id,
        "name": t.name,
        "fullyQualifiedName": t.fully_qualified_name,
        "labels": {"singular": t.label_singular, "plural": t.label_plural},
        "primaryDisplayProperty": t.default_props[0],
        "secondaryDisplayProperties": [],
        "requiredProperties": [t.default_props[0]],
        "searchableProperties": list(t.searchable),
        "archived": False,
        "restorable": True,
        "metaType": "PORTAL_SPECIFIC",
        "portalId": portal_id,
        "createdAt": METADATA_CREATED_ISO,
        "updatedAt": METADATA_UPDATED_ISO,
        "properties": [property_v3(p, i) for i, p in enumerate(t.properties)],
        "associations": assoc,
    }
