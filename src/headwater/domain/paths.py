"""Where Adobe's APIs live on a Platform host: one definition for the routes, the clients and the
links that name them."""

from __future__ import annotations

#: Every path under this prefix needs the gateway headers (Authorization, x-api-key, org).
PROTECTED_PREFIX = "/data/foundation/"
#: The Flow Service API (connections, flows, runs, specs, webhooks).
FLOW_SERVICE_PATH = "/data/foundation/flowservice"
#: The Catalog Service subset (datasets and batches).
CATALOG_PATH = "/data/foundation/catalog"
#: The Schema Registry subset (tenant schemas and field groups, standard classes).
SCHEMA_REGISTRY_PATH = "/data/foundation/schemaregistry"
#: Data Prep (mapping sets and the expression language).
DATA_PREP_PATH = "/data/foundation/conversion"
#: The Data Access API subset (a batch's failed records).
EXPORT_PATH = "/data/foundation/export"
#: The IMS-compatible token endpoint (client-credentials grant).
IMS_TOKEN_PATH = "/ims/token/v3"
