"""Every public Headwater error, grouped by how a caller recovers from it.

::

    HeadwaterError
    ├── GatewayError                  request rejected before it reaches a service (Adobe gateway shape)
    │   ├── MissingTokenError         403 403010
    │   ├── InvalidTokenError         401 401013
    │   ├── MissingApiKeyError        403 403000
    │   ├── InvalidApiKeyError        403 403003
    │   ├── MissingOrgError           400 400003
    │   ├── OrgMismatchError          403 403025
    │   ├── ImsError                  token endpoint errors ({"error", "error_description"})
    │   │   └── TooManyAttemptsError  429 after repeated bad secrets for one client id: wait
    │   └── ContentTypeError          400 (placeholder problem shape)
    ├── ConfigurationError            the product is misconfigured (settings, key file, profiles)
    ├── ServiceError                  answered in the Flow Service error envelope (code + status)
    │   ├── InvalidRequestError       400: the request is wrong; fix it and resend
    │   │   ├── ValidationError       400 with a list of field errors
    │   │   ├── InvalidSpecError      1413
    │   │   ├── AuthSpecNotFoundError 1415
    │   │   ├── ImmutableFieldError   1414
    │   │   ├── MissingIfMatchError   1403
    │   │   ├── UnsupportedPatchOpError 1434
    │   │   ├── PatchError            1455
    │   │   ├── FilterError           144x (property= filters)
    │   │   ├── SortError             1432 / 1433
    │   │   ├── LimitWithCountError   1401
    │   │   ├── StateNotAllowedError  1410
    │   │   ├── InvalidTransitionError 1422
    │   │   ├── DependentsExistError  1418
    │   │   └── PayloadTooLargeError  413
    │   ├── NotFoundError             404 (unknown id, or hidden by tenancy)
    │   │   ├── SandboxNotFoundError  2100
    │   │   └── TableNotFoundError    1101 (a source has no table of that name)
    │   ├── PreconditionFailedError   412 1404 (stale etag)
    │   ├── InternalError             500 1102
    │   ├── SchemaRegistryError       Schema Registry errors in Adobe's XDM envelope (XDM-{code})
    │   │   ├── XdmNotFoundError      404 XDM-1010
    │   │   ├── XdmAcceptError        400 XDM-1006 (Accept header invalid)
    │   │   ├── XdmTitleNotUniqueError 400 XDM-1521
    │   │   ├── XdmNamespaceError     400 XDM-1021 (custom fields outside _{TENANT_ID})
    │   │   └── XdmInvalidError       400 XDM-1000 (any other invalid resource)
    │   └── MappingSetInvalidError    400 2250 (a mapping set that cannot apply)
    ├── SyncError                     raised while moving data
    │   ├── FatalSyncError            do not retry the run
    │   │   ├── SourceAuthError       credentials revoked / invalid / missing scopes
    │   │   │   └── MissingScopeError 2403: one table's scope was not granted (others still read)
    │   │   ├── FatalSourceError      4xx from the source that retrying cannot fix
    │   │   │   ├── PaginationLoopError  2508: the source repeated a cursor, moved it back, or
    │   │   │   │                        paged on without records
    │   │   │   └── MalformedSourceResponseError  2502: not JSON, or not the documented shape
    │   │   │       └── SourceResponseTooLargeError  2413: an answer beyond the size limit
    │   │   ├── DestinationError      the lake refused the write (e.g. incompatible type change)
    │   │   ├── CheckpointError       a stored checkpoint cannot be read (the engine re-reads in full)
    │   │   ├── MappingRunError       the flow's mapping set no longer fits the source
    │   │   └── PartialIngestionError more records failed mapping than partialIngestionPercent allows
    │   ├── RetriableSyncError        retry with backoff
    │   │   ├── RetriableSourceError  429, 5xx, timeouts, connection resets
    │   │   ├── LeaseLostError        another worker owns the run now
    │   │   └── Interrupted           the worker is stopping; the run resumes from its checkpoint
    │   └── SkippableSyncError        count it, keep going
    │       └── InvalidRecordError
    └── CommandError                  a command cannot do what was asked (one line, exit status 1)
        ├── UsageError                the arguments make no sense together (exit status 2)
        ├── RemoteError               the API refused a request or could not be reached
        └── QuickstartError           a quickstart step failed (a process did not start)

Each :class:`ServiceError` carries ``code``, ``http_status`` and ``title`` class attributes, so the
API layer only renders them (``headwater.api.errors``). Where Adobe answers one class of error with
several codes, the raiser picks the code of that instance with ``instance_code=``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthSpecNotFoundError",
    "CheckpointError",
    "CommandError",
    "ConfigurationError",
    "ContentTypeError",
    "DependentsExistError",
    "DestinationError",
    "FatalSourceError",
    "FatalSyncError",
    "FieldError",
    "FilterError",
    "GatewayError",
    "HeadwaterError",
    "ImmutableFieldError",
    "ImsError",
    "InternalError",
    "Interrupted",
    "InvalidApiKeyError",
    "InvalidRecordError",
    "InvalidRequestError",
    "InvalidSpecError",
    "InvalidTokenError",
    "InvalidTransitionError",
    "LeaseLostError",
    "LimitWithCountError",
    "MalformedSourceResponseError",
    "MappingSetInvalidError",
    "MissingApiKeyError",
    "MissingIfMatchError",
    "MissingOrgError",
    "MissingScopeError",
    "MissingTokenError",
    "NotFoundError",
    "OrgMismatchError",
    "PaginationLoopError",
    "PatchError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "QuickstartError",
    "RemoteError",
    "RetriableSourceError",
    "RetriableSyncError",
    "SandboxNotFoundError",
    "SchemaRegistryError",
    "ServiceError",
    "SkippableSyncError",
    "SortError",
    "SourceAuthError",
    "SourceResponseTooLargeError",
    "StateNotAllowedError",
    "SyncError",
    "TableNotFoundError",
    "TooManyAttemptsError",
    "UnsupportedPatchOpError",
    "UsageError",
    "ValidationError",
    "XdmAcceptError",
    "XdmInvalidError",
    "XdmNamespaceError",
    "XdmNotFoundError",
    "XdmTitleNotUniqueError",
]


class HeadwaterError(Exception):
    """Root of every error Headwater raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def attrs(self) -> dict[str, Any]:
        """Structured fields for logs."""
        return {"error": type(self).__name__, "message": self.message}


class ConfigurationError(HeadwaterError):
    """Settings, key material or deployment are wrong; an operator must fix them."""


# --------------------------------------------------------------------------- gateway


class GatewayError(HeadwaterError):
    """Rejected at the gateway; rendered as ``{"error_code", "message"}`` like Adobe's gateway."""

    error_code: ClassVar[str] = ""
    http_status: ClassVar[int] = 403
    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class MissingTokenError(GatewayError):
    error_code = "403010"
    http_status = 403
    default_message = "Oauth token is missing."


class InvalidTokenError(GatewayError):
    error_code = "401013"
    http_status = 401
    default_message = "Oauth token is not valid"


class MissingApiKeyError(GatewayError):
    error_code = "403000"
    http_status = 403
    default_message = "Api Key is required"


class InvalidApiKeyError(GatewayError):
    error_code = "403003"
    http_status = 403
    default_message = "Api Key is invalid"


class MissingOrgError(GatewayError):
    error_code = "400003"
    http_status = 400
    default_message = "Missing header x-gw-ims-org-id"


class OrgMismatchError(GatewayError):
    error_code = "403025"
    http_status = 403
    default_message = "Profile is not valid"


class ImsError(GatewayError):
    """An IMS token-endpoint failure, rendered as ``{"error", "error_description"}``."""

    http_status = 400

    def __init__(self, error: str, description: str, *, http_status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = http_status


class TooManyAttemptsError(ImsError):
    """Too many failed secret checks for one client id: wait ``retry_after_seconds``."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "too_many_requests",
            f"too many failed attempts for this client_id; retry in {retry_after_seconds} s",
            http_status=429,
        )
        self.retry_after_seconds = retry_after_seconds


class ContentTypeError(GatewayError):
    """Missing or wrong ``Content-Type`` on a request with a body (Adobe's placeholder shape)."""

    error_code = ""
    http_status = 400
    default_message = "A valid content-type must be specified"


# --------------------------------------------------------------------------- service


class FieldError(dict[str, str]):
    """One invalid field: ``{"field": "auth.params.clientId", "message": "..."}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ServiceError(HeadwaterError):
    """An error answered in the Flow Service envelope (``FLOW-{code}-{status}``)."""

    code: ClassVar[str] = "1102"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    #: the service part of the error type (``FLOW-{code}-{status}``, ``XDM-…``)
    error_prefix: ClassVar[str] = "FLOW"

    def __init__(
        self,
        message: str,
        *,
        resource_id: str | None = None,
        resource_type: str | None = None,
        details: list[FieldError] | None = None,
        instance_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.resource_type = resource_type
        self.details = details or []
        #: the code of this instance when it differs from the class's ``code``
        self.instance_code = instance_code


class InvalidRequestError(ServiceError):
    code = "1100"
    http_status = 400
    title = "Bad request"


class ValidationError(InvalidRequestError):
    code = "1455"
    title = "Validation error"


class InvalidSpecError(InvalidRequestError):
    code = "1413"
    title = "Invalid spec id"


class AuthSpecNotFoundError(InvalidRequestError):
    code = "1415"
    title = "Auth spec not found"


class ImmutableFieldError(InvalidRequestError):
    code = "1414"
    title = "Field cannot be updated"


class MissingIfMatchError(InvalidRequestError):
    code = "1403"
    title = "If-Match header missing"


class UnsupportedPatchOpError(InvalidRequestError):
    code = "1434"
    title = "Unsupported patch operation"


class PatchError(InvalidRequestError):
    code = "1455"
    title = "Patch validation error"


class FilterError(InvalidRequestError):
    """A ``property=`` filter is malformed; ``code`` is chosen per failure (1440-1454)."""

    code = "1451"
    title = "Invalid filter"

    def __init__(self, message: str, *, code: str = "1451") -> None:
        super().__init__(message, instance_code=code)


class SortError(InvalidRequestError):
    code = "1433"
    title = "Invalid orderby"

    def __init__(self, message: str, *, code: str = "1433") -> None:
        super().__init__(message, instance_code=code)


class LimitWithCountError(InvalidRequestError):
    code = "1401"
    title = "Invalid query parameters"


class StateNotAllowedError(InvalidRequestError):
    code = "1410"
    title = "State not allowed"


class InvalidTransitionError(InvalidRequestError):
    code = "1422"
    title = "Invalid state transition"


class DependentsExistError(InvalidRequestError):
    code = "1418"
    title = "Resource in use"


class PayloadTooLargeError(InvalidRequestError):
    code = "1405"
    http_status = 413
    title = "Payload too large"


class NotFoundError(ServiceError):
    code = "1101"
    http_status = 404
    title = "Resource not found"


class SandboxNotFoundError(NotFoundError):
    code = "2100"
    title = "Sandbox not found"


class TableNotFoundError(NotFoundError):
    """A source has no table of that name (explore ``object=`` or a source connection's path)."""

    title = "Table not found"


class PreconditionFailedError(ServiceError):
    code = "1404"
    http_status = 412
    title = "Version not matching"


class InternalError(ServiceError):
    code = "1102"
    http_status = 500
    title = "Internal error"


class SchemaRegistryError(ServiceError):
    """Rendered in the Schema Registry's envelope: ``type`` ``…/XDM-{code}-{status}``, ``detail``
    and ``report.detailed-message`` (Adobe's ``help/xdm/troubleshooting-guide.md``)."""

    error_prefix = "XDM"
    code = "1000"
    http_status = 400
    title = "Bad request"


class XdmNotFoundError(SchemaRegistryError, NotFoundError):
    code = "1010"
    http_status = 404
    title = "Resource not found"


class XdmAcceptError(SchemaRegistryError):
    code = "1006"
    title = "Accept header invalid"


class XdmTitleNotUniqueError(SchemaRegistryError):
    code = "1521"
    title = "Title not unique"


class XdmNamespaceError(SchemaRegistryError):
    code = "1021"
    title = "Namespace validation error"


class XdmInvalidError(SchemaRegistryError):
    """An invalid resource for which Adobe documents no specific code (Headwater's ``1000``)."""


class MappingSetInvalidError(ValidationError):
    """A mapping set refused because entries cannot apply; ``details`` names each entry."""

    code = "2250"
    title = "Mapping validation error"


# --------------------------------------------------------------------------- sync


class SyncError(HeadwaterError):
    """Raised while reading from a source or writing to the lake."""

    #: Adobe-style run error code, ``COMPONENT-NNNN-STATUS``.
    run_code: ClassVar[str] = "CONNECTOR-2001-500"


class FatalSyncError(SyncError):
    """Retrying will not help; the run fails with this error."""


class SourceAuthError(FatalSyncError):
    """Credentials were rejected, revoked, or lack a scope."""

    run_code = "CONNECTOR-2401-401"


class MissingScopeError(SourceAuthError):
    """The token authenticates but lacks the scopes one table needs: that table cannot be read,
    the connection's other tables can. ``scopes`` names them, ``table`` the table. Its own run
    code keeps it apart from credentials that fail as a whole (no ``connection.credentials.failed``
    event)."""

    run_code = "CONNECTOR-2403-403"

    def __init__(self, message: str, *, scopes: tuple[str, ...] = (), table: str = "") -> None:
        super().__init__(message)
        self.scopes = scopes
        self.table = table


class FatalSourceError(FatalSyncError):
    run_code = "CONNECTOR-2400-400"


class PaginationLoopError(FatalSourceError):
    """The source returned the same page cursor twice, moved it backwards, or kept handing out
    new cursors to pages without records; reading on would loop."""

    run_code = "CONNECTOR-2508-508"


class MalformedSourceResponseError(FatalSourceError):
    """The source answered 2xx with a body that is not JSON or not the documented shape (a
    string where a list belongs, ``results`` missing or null, ``paging`` without a cursor).
    Reading on would guess; the run fails and the dataset stays as it was."""

    run_code = "CONNECTOR-2502-502"


class SourceResponseTooLargeError(MalformedSourceResponseError):
    """One answer of the source was larger than the connector accepts (no documented page
    comes near it); it is not read into memory."""

    run_code = "CONNECTOR-2413-413"


class DestinationError(FatalSyncError):
    run_code = "INGEST-1212-400"


class CheckpointError(FatalSyncError):
    """A stored checkpoint or cursor cannot be read: damaged, or written by a version this one
    does not know. The engine then reads the table from the start (exact, only slower)."""

    run_code = "CONNECTOR-2422-422"


class MappingRunError(FatalSyncError):
    """The flow's mapping set cannot apply to the source's columns (they changed since the flow
    was created)."""

    run_code = "MAPPER-3700-400"


class PartialIngestionError(FatalSyncError):
    """More records failed mapping than the flow's ``partialIngestionPercent`` allows (or any
    failed without it); the run fails and the dataset is left unchanged."""

    run_code = "INGEST-1212-400"


class RetriableSyncError(SyncError):
    """Transient; retry with backoff."""

    run_code = "CONNECTOR-2503-503"


class RetriableSourceError(RetriableSyncError):
    pass


class LeaseLostError(RetriableSyncError):
    run_code = "ENGINE-3409-409"


class Interrupted(RetriableSyncError):  # noqa: N818 - control flow, not a failure
    """The worker is shutting down; the run goes back to the queue at its last checkpoint."""


class SkippableSyncError(SyncError):
    """One record or item failed; count it and continue."""

    run_code = "MAPPER-3700-400"


class InvalidRecordError(SkippableSyncError):
    pass


# --------------------------------------------------------------------------- command line


class CommandError(HeadwaterError):
    """A ``headwater`` command cannot do what was asked; shown as one ``error:`` line."""

    #: The process exit status the command line ends with.
    exit_status: ClassVar[int] = 1


class UsageError(CommandError):
    """The command line itself is wrong: options that make no sense together."""

    exit_status = 2


class RemoteError(CommandError):
    """The API refused a request (``code`` is its Adobe code, e.g. ``FLOW-1101-404``, and
    ``status`` its HTTP status), or could not be reached (no code, no status)."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]" if self.code else self.message


class QuickstartError(CommandError):
    """A step of ``headwater quickstart`` failed: a process did not start or answer in time."""
