"""The emulated portal's metadata: object types, property definitions, owners, pipelines, schemas.

Everything here is static data (a function of the portal id only); record values are generated in
:mod:`headwater.emulator.hubspot.data` from these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ISO strings of fixed metadata timestamps
EPOCH_ISO = "1970-01-01T00:00:00Z"
METADATA_CREATED_ISO = "2019-08-06T02:41:08.029Z"
METADATA_UPDATED_ISO = "2024-01-10T00:00:00.000Z"
METADATA_CREATED_MS = 1_565_059_268_029
METADATA_UPDATED_MS = 1_704_844_800_000


@dataclass(frozen=True, slots=True)
class PropDef:
    """One property definition plus the generator that fills it.

    ``gen`` names a generator in :mod:`data` (``"first_name"``, ``"int:1:500"``, ``"enum"``…);
    ``null_pct`` is the share of records (0-100) whose value is unset.
    """

    name: str
    label: str
    type: str
    field_type: str
    group: str
    gen: str
    null_pct: int = 0
    options: tuple[tuple[str, str], ...] = ()
    history: bool = False
    description: str = ""
    hubspot_defined: bool = True
    read_only: bool = False
    unique: bool = False
    referenced_object_type: str | None = None
    number_display_hint: str | None = None
    text_display_hint: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectType:
    """One CRM object type with its addressing aliases and property definitions."""

    name: str  # plural path name, or the custom object's short name
    singular: str
    type_id: str  # 0-1, 2-1000001
    label_singular: str
    label_plural: str
    scope: str  # read scope
    write_scope: str
    created_prop: str
    updated_prop: str
    default_props: tuple[str, ...]
    properties: tuple[PropDef, ...]
    custom: bool = False
    fully_qualified_name: str | None = None
    searchable: tuple[str, ...] = ()
    prop_index: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        self.prop_index.update({p.name: i for i, p in enumerate(self.properties)})

    @property
    def assoc_key(self) -> str:
        """Key used for this type in inline ``associations`` (plural name, or the FQN)."""
        return self.fully_qualified_name or self.name

    @property
    def mergeable(self) -> bool:
        return "hs_merged_object_ids" in self.prop_index

    def prop(self, name: str) -> PropDef | None:
        i = self.prop_index.get(name)
        return None if i is None else self.properties[i]


def _opts(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v.replace("_", " ").title()) for v in values)


LIFECYCLE = _opts(
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUS = _opts(
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
INDUSTRY = _opts(
    "ACCOUNTING",
    "AIRLINES_AVIATION",
    "BANKING",
    "BIOTECHNOLOGY",
    "COMPUTER_SOFTWARE",
    "CONSTRUCTION",
    "EDUCATION_MANAGEMENT",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "RETAIL",
)
COLORS = _opts("red", "green", "blue", "yellow", "purple", "orange")
INTERESTS = _opts("analytics", "automation", "crm", "email", "ecommerce", "seo", "social")
TIERS = _opts("bronze", "silver", "gold", "platinum")
SPECIES = _opts("dog", "cat", "parrot", "rabbit", "hamster", "turtle")


def _custom_props(prefix: str) -> tuple[PropDef, ...]:
    """Custom properties of every type, as a portal admin would create them."""
    return (
        PropDef(
            f"{prefix}_notes",
            "Notes",
            "string",
            "textarea",
            "custom",
            "sentence",
            30,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_score",
            "Score",
            "number",
            "number",
            "custom",
            "int:0:1000",
            10,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_ratio",
            "Ratio",
            "number",
            "number",
            "custom",
            "decimal",
            10,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_is_vip",
            "VIP",
            "bool",
            "booleancheckbox",
            "custom",
            "bool",
            5,
            options=(("true", "Yes"), ("false", "No")),
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_signup_date",
            "Signup date",
            "date",
            "date",
            "custom",
            "date",
            20,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_last_seen_at",
            "Last seen at",
            "datetime",
            "date",
            "custom",
            "datetime",
            20,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_favorite_color",
            "Favorite color",
            "enumeration",
            "select",
            "custom",
            "enum",
            15,
            COLORS,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_interests",
            "Interests",
            "enumeration",
            "checkbox",
            "custom",
            "multi",
            15,
            INTERESTS,
            hubspot_defined=False,
        ),
        PropDef(
            f"{prefix}_tier",
            "Tier",
            "enumeration",
            "radio",
            "custom",
            "enum",
            0,
            TIERS,
            history=True,
            hubspot_defined=False,
        ),
    )


def _system(created: str, updated: str) -> tuple[PropDef, ...]:
    return (
        PropDef(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            "system",
            "id",
            read_only=True,
            unique=True,
            description="The unique ID for this record. This value is set automatically by HubSpot.",
        ),
        PropDef(
            created,
            "Create Date",
            "datetime",
            "date",
            "system",
            "created",
            read_only=True,
            description="The date the record was created.",
        ),
        PropDef(
            updated,
            "Last Modified Date",
            "datetime",
            "date",
            "system",
            "updated",
            read_only=True,
            description="Most recent timestamp of any property update for this record.",
        ),
        PropDef(
            "hubspot_owner_id",
            "Owner",
            "enumeration",
            "select",
            "system",
            "owner",
            10,
            referenced_object_type="OWNER",
        ),
    )


MERGED_IDS = "hs_merged_object_ids"
# carried by the types HubSpot can merge (contacts, companies, deals, tickets, custom objects)
MERGED_IDS_PROP = PropDef(
    MERGED_IDS,
    "Merged record IDs",
    "enumeration",
    "checkbox",
    "system",
    "const:",
    100,
    read_only=True,
    description="The list of record IDs that have been merged into this record.",
)


CONTACT_PROPS = (
    *_system("createdate", "lastmodifieddate"),
    MERGED_IDS_PROP,
    PropDef("firstname", "First Name", "string", "text", "contactinformation", "first_name", 2),
    PropDef("lastname", "Last Name", "string", "text", "contactinformation", "last_name", 2),
    PropDef(
        "email",
        "Email",
        "string",
        "text",
        "contactinformation",
        "email",
        0,
        history=True,
        unique=True,
        text_display_hint="email",
    ),
    PropDef(
        "phone",
        "Phone Number",
        "string",
        "phonenumber",
        "contactinformation",
        "phone",
        25,
        text_display_hint="phone_number",
    ),
    PropDef(
        "mobilephone",
        "Mobile Phone Number",
        "phone_number",
        "phonenumber",
        "contactinformation",
        "phone",
        50,
    ),
    PropDef("company", "Company Name", "string", "text", "contactinformation", "company_name", 20),
    PropDef("jobtitle", "Job Title", "string", "text", "contactinformation", "job_title", 30),
    PropDef("city", "City", "string", "text", "contactinformation", "city", 15),
    PropDef("country", "Country/Region", "string", "text", "contactinformation", "country", 15),
    PropDef("website", "Website URL", "string", "text", "contactinformation", "website", 40),
    PropDef(
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "contactinformation",
        "enum",
        0,
        LIFECYCLE,
        history=True,
    ),
    PropDef(
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "radio",
        "sales_properties",
        "enum",
        20,
        LEAD_STATUS,
        description="The contact's sales, prospecting or outreach status",
    ),
    PropDef(
        "num_associated_deals",
        "Associated Deals",
        "number",
        "number",
        "deal_information",
        "int:0:5",
        0,
        read_only=True,
    ),
    PropDef(
        "hs_email_optout",
        "Unsubscribed from all email",
        "bool",
        "booleancheckbox",
        "emailinformation",
        "bool",
        0,
        options=(("true", "True"), ("false", "False")),
    ),
    PropDef(
        "hs_analytics_num_page_views",
        "Number of Pageviews",
        "number",
        "number",
        "analyticsinformation",
        "int:0:400",
        0,
        read_only=True,
    ),
    PropDef(
        "hs_analytics_first_timestamp",
        "Time First Seen",
        "datetime",
        "date",
        "analyticsinformation",
        "datetime",
        30,
        read_only=True,
    ),
    PropDef("annualrevenue", "Annual Revenue", "string", "text", "contactinformation", "money", 60),
    PropDef(
        "hs_persona",
        "Persona",
        "enumeration",
        "radio",
        "contactinformation",
        "enum",
        60,
        _opts("persona_1", "persona_2", "persona_3"),
    ),
    *_custom_props("hw"),
)

COMPANY_PROPS = (
    *_system("createdate", "hs_lastmodifieddate"),
    MERGED_IDS_PROP,
    PropDef(
        "name",
        "Company name",
        "string",
        "text",
        "companyinformation",
        "company_name",
        0,
        history=True,
    ),
    PropDef(
        "domain",
        "Company Domain Name",
        "string",
        "text",
        "companyinformation",
        "domain",
        5,
        text_display_hint="domain_name",
    ),
    PropDef(
        "industry", "Industry", "enumeration", "select", "companyinformation", "enum", 20, INDUSTRY
    ),
    PropDef("city", "City", "string", "text", "companyinformation", "city", 10),
    PropDef("country", "Country/Region", "string", "text", "companyinformation", "country", 10),
    PropDef("phone", "Phone Number", "string", "phonenumber", "companyinformation", "phone", 20),
    PropDef(
        "numberofemployees",
        "Number of Employees",
        "number",
        "number",
        "companyinformation",
        "int:1:20000",
        15,
    ),
    PropDef(
        "annualrevenue",
        "Annual Revenue",
        "number",
        "number",
        "companyinformation",
        "money",
        30,
        number_display_hint="currency",
    ),
    PropDef(
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "companyinformation",
        "enum",
        0,
        LIFECYCLE,
    ),
    PropDef(
        "description", "Description", "string", "textarea", "companyinformation", "sentence", 40
    ),
    PropDef(
        "hs_num_child_companies",
        "Number of child companies",
        "number",
        "number",
        "companyinformation",
        "int:0:3",
        0,
        read_only=True,
    ),
    *_custom_props("hw"),
)

DEAL_STAGES_DEFAULT = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
)
DEAL_STAGES_ENTERPRISE = (
    ("101", "Discovery", "0.1"),
    ("102", "Proof of Concept", "0.3"),
    ("103", "Negotiation", "0.7"),
    ("104", "Won", "1.0"),
    ("105", "Lost", "0.0"),
)
TICKET_STAGES = (
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
)

DEAL_PROPS = (
    *_system("createdate", "hs_lastmodifieddate"),
    MERGED_IDS_PROP,
    PropDef("dealname", "Deal Name", "string", "text", "dealinformation", "deal_name", 0),
    PropDef(
        "amount",
        "Amount",
        "number",
        "number",
        "dealinformation",
        "money",
        10,
        history=True,
        number_display_hint="currency",
    ),
    PropDef("closedate", "Close Date", "datetime", "date", "dealinformation", "datetime", 20),
    PropDef(
        "pipeline",
        "Pipeline",
        "enumeration",
        "select",
        "dealinformation",
        "deal_pipeline",
        0,
        (("default", "Sales Pipeline"), ("enterprise", "Enterprise Pipeline")),
    ),
    PropDef(
        "dealstage",
        "Deal Stage",
        "enumeration",
        "radio",
        "dealinformation",
        "deal_stage",
        0,
        tuple((s, lbl) for s, lbl, _ in DEAL_STAGES_DEFAULT + DEAL_STAGES_ENTERPRISE),
        history=True,
    ),
    PropDef(
        "dealtype",
        "Deal Type",
        "enumeration",
        "radio",
        "dealinformation",
        "enum",
        25,
        (("newbusiness", "New Business"), ("existingbusiness", "Existing Business")),
    ),
    PropDef(
        "hs_priority",
        "Priority",
        "enumeration",
        "select",
        "dealinformation",
        "enum",
        30,
        _opts("low", "medium", "high"),
    ),
    PropDef(
        "description", "Deal Description", "string", "textarea", "dealinformation", "sentence", 50
    ),
    PropDef(
        "hs_is_closed",
        "Is Deal Closed?",
        "bool",
        "booleancheckbox",
        "dealinformation",
        "bool",
        0,
        read_only=True,
    ),
    PropDef(
        "hs_v2_date_entered_appointmentscheduled",
        "Date entered 'Appointment Scheduled (Sales Pipeline)'",
        "datetime",
        "date",
        "dealstages",
        "datetime",
        20,
        read_only=True,
    ),
    PropDef(
        "hs_v2_date_entered_closedwon",
        "Date entered 'Closed Won (Sales Pipeline)'",
        "datetime",
        "date",
        "dealstages",
        "datetime",
        70,
        read_only=True,
    ),
    *_custom_props("hw"),
)

TICKET_PROPS = (
    *_system("createdate", "hs_lastmodifieddate"),
    MERGED_IDS_PROP,
    PropDef("subject", "Ticket name", "string", "text", "ticketinformation", "sentence", 0),
    PropDef(
        "content", "Ticket description", "string", "textarea", "ticketinformation", "sentence", 20
    ),
    PropDef(
        "hs_pipeline",
        "Pipeline",
        "enumeration",
        "select",
        "ticketinformation",
        "const:0",
        0,
        (("0", "Support Pipeline"),),
    ),
    PropDef(
        "hs_pipeline_stage",
        "Ticket status",
        "enumeration",
        "select",
        "ticketinformation",
        "enum",
        0,
        tuple((s, lbl) for s, lbl, _ in TICKET_STAGES),
        history=True,
    ),
    PropDef(
        "hs_ticket_category",
        "Category",
        "enumeration",
        "select",
        "ticketinformation",
        "enum",
        30,
        _opts("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"),
    ),
    PropDef(
        "hs_ticket_priority",
        "Priority",
        "enumeration",
        "select",
        "ticketinformation",
        "enum",
        10,
        _opts("LOW", "MEDIUM", "HIGH", "URGENT"),
    ),
    PropDef(
        "source_type",
        "Source",
        "enumeration",
        "select",
        "ticketinformation",
        "enum",
        10,
        _opts("EMAIL", "CHAT", "PHONE", "FORM"),
    ),
)

PRODUCT_PROPS = (
    *_system("createdate", "hs_lastmodifieddate"),
    PropDef("name", "Name", "string", "text", "productinformation", "product_name", 0),
    PropDef(
        "description", "Description", "string", "textarea", "productinformation", "sentence", 20
    ),
    PropDef(
        "price",
        "Unit price",
        "number",
        "number",
        "productinformation",
        "money",
        0,
        number_display_hint="currency",
    ),
    PropDef("hs_sku", "SKU", "string", "text", "productinformation", "sku", 10),
    PropDef(
        "hs_recurring_billing_period",
        "Term",
        "string",
        "text",
        "productinformation",
        "const:P12M",
        60,
    ),
)

LINE_ITEM_PROPS = (
    *_system("createdate", "hs_lastmodifieddate"),
    PropDef("name", "Name", "string", "text", "lineiteminformation", "product_name", 0),
    PropDef("price", "Unit price", "number", "number", "lineiteminformation", "money", 0),
    PropDef("quantity", "Quantity", "number", "number", "lineiteminformation", "int:1:50", 0),
    PropDef(
        "hs_product_id", "Product ID", "number", "number", "lineiteminformation", "product_ref", 5
    ),
    PropDef(
        "amount", "Net price", "number", "number", "lineiteminformation", "money", 0, read_only=True
    ),
)


def _engagement_props(kind: str) -> tuple[PropDef, ...]:
    specific: dict[str, tuple[PropDef, ...]] = {
        "calls": (
            PropDef("hs_call_title", "Call Title", "string", "text", "call", "sentence", 5),
            PropDef("hs_call_body", "Call notes", "string", "html", "call", "sentence", 20),
            PropDef(
                "hs_call_duration", "Call duration", "number", "number", "call", "int:0:3600000", 10
            ),
            PropDef(
                "hs_call_direction",
                "Call direction",
                "enumeration",
                "select",
                "call",
                "enum",
                0,
                _opts("INBOUND", "OUTBOUND"),
            ),
            PropDef(
                "hs_call_status",
                "Call status",
                "enumeration",
                "select",
                "call",
                "enum",
                0,
                _opts("COMPLETED", "BUSY", "NO_ANSWER", "FAILED", "CANCELED"),
            ),
        ),
        "emails": (
            PropDef("hs_email_subject", "Email subject", "string", "text", "email", "sentence", 0),
            PropDef("hs_email_text", "Email body", "string", "textarea", "email", "sentence", 10),
            PropDef(
                "hs_email_direction",
                "Email direction",
                "enumeration",
                "select",
                "email",
                "enum",
                0,
                _opts("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
            ),
            PropDef(
                "hs_email_status",
                "Email send status",
                "enumeration",
                "select",
                "email",
                "enum",
                0,
                _opts("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
            ),
        ),
        "meetings": (
            PropDef("hs_meeting_title", "Meeting name", "string", "text", "meeting", "sentence", 0),
            PropDef(
                "hs_meeting_body",
                "Meeting description",
                "string",
                "html",
                "meeting",
                "sentence",
                30,
            ),
            PropDef(
                "hs_meeting_start_time", "Start time", "datetime", "date", "meeting", "datetime", 0
            ),
            PropDef(
                "hs_meeting_end_time", "End time", "datetime", "date", "meeting", "datetime", 0
            ),
            PropDef(
                "hs_meeting_outcome",
                "Meeting outcome",
                "enumeration",
                "select",
                "meeting",
                "enum",
                10,
                _opts("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
            ),
        ),
        "notes": (PropDef("hs_note_body", "Note body", "string", "html", "note", "sentence", 0),),
        "tasks": (
            PropDef("hs_task_subject", "Task title", "string", "text", "task", "sentence", 0),
            PropDef("hs_task_body", "Task notes", "string", "textarea", "task", "sentence", 30),
            PropDef(
                "hs_task_status",
                "Task status",
                "enumeration",
                "select",
                "task",
                "enum",
                0,
                _opts("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
            PropDef(
                "hs_task_priority",
                "Priority",
                "enumeration",
                "select",
                "task",
                "enum",
                10,
                _opts("LOW", "MEDIUM", "HIGH"),
            ),
        ),
    }
    return (
        *_system("hs_createdate", "hs_lastmodifieddate"),
        PropDef("hs_timestamp", "Activity date", "datetime", "date", "engagement", "created", 0),
        *specific[kind],
    )


PET_PROPS = (
    *_system("hs_createdate", "hs_lastmodifieddate"),
    MERGED_IDS_PROP,
    PropDef(
        "name", "Name", "string", "text", "pet_information", "pet_name", 0, hubspot_defined=False
    ),
    PropDef(
        "species",
        "Species",
        "enumeration",
        "select",
        "pet_information",
        "enum",
        0,
        SPECIES,
        hubspot_defined=False,
    ),
    PropDef(
        "age_years",
        "Age (years)",
        "number",
        "number",
        "pet_information",
        "int:0:20",
        10,
        hubspot_defined=False,
    ),
    PropDef(
        "vaccinated",
        "Vaccinated",
        "bool",
        "booleancheckbox",
        "pet_information",
        "bool",
        5,
        options=(("true", "Yes"), ("false", "No")),
        hubspot_defined=False,
    ),
    PropDef(
        "adopted_on",
        "Adopted on",
        "date",
        "date",
        "pet_information",
        "date",
        20,
        hubspot_defined=False,
    ),
    PropDef(
        "toys",
        "Toys",
        "enumeration",
        "checkbox",
        "pet_information",
        "multi",
        20,
        _opts("ball", "rope", "bone", "feather", "laser"),
        hubspot_defined=False,
    ),
)

CUSTOM_OBJECT_ID = "1000001"


# Legacy property sets that are not CRM object types (Airbyte reads ``form`` for its
# dynamic schemas and cannot handle an empty list). The field set is the emulator's choice.
FORM_PROPS = (
    PropDef("guid", "Form GUID", "string", "text", "form", "const:", 100, read_only=True),
    PropDef("name", "Form name", "string", "text", "form", "const:", 100),
    PropDef(
        "formType",
        "Form type",
        "enumeration",
        "select",
        "form",
        "const:",
        100,
        _opts("HUBSPOT", "CAPTURED", "FLOW"),
    ),
    PropDef("createdAt", "Created at", "datetime", "date", "form", "const:", 100, read_only=True),
    PropDef("updatedAt", "Updated at", "datetime", "date", "form", "const:", 100, read_only=True),
    PropDef(
        "archived", "Archived", "bool", "booleancheckbox", "form", "const:", 100, read_only=True
    ),
)
LEGACY_ONLY_PROPERTY_SETS: dict[str, tuple[PropDef, ...]] = {
    "form": FORM_PROPS,
    "forms": FORM_PROPS,
}
# Names HubSpot accepts in ``associations=`` that are not CRM object types here; ignored.
IGNORED_ASSOCIATION_NAMES = frozenset({"conversations", "conversation"})


def build_object_types(portal_id: int) -> list[ObjectType]:
    """The core object types of the portal, the custom object last (``crm_objects`` has the
    other standard types)."""
    eng = ("hs_createdate", "hs_lastmodifieddate", "hs_timestamp")
    return [
        ObjectType(
            "contacts",
            "contact",
            "0-1",
            "Contact",
            "Contacts",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "createdate",
            "lastmodifieddate",
            ("firstname", "lastname", "email", "createdate", "lastmodifieddate"),
            CONTACT_PROPS,
            searchable=("email", "firstname", "lastname", "phone", "company"),
        ),
        ObjectType(
            "companies",
            "company",
            "0-2",
            "Company",
            "Companies",
            "crm.objects.companies.read",
            "crm.objects.companies.write",
            "createdate",
            "hs_lastmodifieddate",
            ("name", "domain", "createdate", "hs_lastmodifieddate"),
            COMPANY_PROPS,
            searchable=("name", "domain", "phone"),
        ),
        ObjectType(
            "deals",
            "deal",
            "0-3",
            "Deal",
            "Deals",
            "crm.objects.deals.read",
            "crm.objects.deals.write",
            "createdate",
            "hs_lastmodifieddate",
            (
                "dealname",
                "amount",
                "closedate",
                "pipeline",
                "dealstage",
                "createdate",
                "hs_lastmodifieddate",
            ),
            DEAL_PROPS,
            searchable=("dealname",),
        ),
        ObjectType(
            "tickets",
            "ticket",
            "0-5",
            "Ticket",
            "Tickets",
            "tickets",
            "tickets",
            "createdate",
            "hs_lastmodifieddate",
            (
                "subject",
                "content",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "createdate",
                "hs_lastmodifieddate",
            ),
            TICKET_PROPS,
            searchable=("subject", "content"),
        ),
        ObjectType(
            "products",
            "product",
            "0-7",
            "Product",
            "Products",
            "e-commerce",
            "e-commerce",
            "createdate",
            "hs_lastmodifieddate",
            ("name", "description", "price", "createdate", "hs_lastmodifieddate"),
            PRODUCT_PROPS,
            searchable=("name", "hs_sku"),
        ),
        ObjectType(
            "line_items",
            "line_item",
            "0-8",
            "Line item",
            "Line items",
            "e-commerce",
            "e-commerce",
            "createdate",
            "hs_lastmodifieddate",
            ("name", "price", "quantity", "createdate", "hs_lastmodifieddate"),
            LINE_ITEM_PROPS,
            searchable=("name",),
        ),
        ObjectType(
            "calls",
            "call",
            "0-48",
            "Call",
            "Calls",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            eng,
            _engagement_props("calls"),
            searchable=("hs_call_title",),
        ),
        ObjectType(
            "emails",
            "email",
            "0-49",
            "Email",
            "Emails",
            "sales-email-read",
            "crm.objects.contacts.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            eng,
            _engagement_props("emails"),
            searchable=("hs_email_subject",),
        ),
        ObjectType(
            "meetings",
            "meeting",
            "0-47",
            "Meeting",
            "Meetings",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            eng,
            _engagement_props("meetings"),
            searchable=("hs_meeting_title",),
        ),
        ObjectType(
            "notes",
            "note",
            "0-46",
            "Note",
            "Notes",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            eng,
            _engagement_props("notes"),
            searchable=("hs_note_body",),
        ),
        ObjectType(
            "tasks",
            "task",
            "0-27",
            "Task",
            "Tasks",
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            eng,
            _engagement_props("tasks"),
            searchable=("hs_task_subject",),
        ),
        ObjectType(
            "pets",
            "pet",
            f"2-{CUSTOM_OBJECT_ID}",
            "Pet",
            "Pets",
            "crm.objects.custom.read",
            "crm.objects.custom.write",
            "hs_createdate",
            "hs_lastmodifieddate",
            ("name", "hs_createdate", "hs_lastmodifieddate"),
            PET_PROPS,
            custom=True,
            fully_qualified_name=f"p{portal_id}_pets",
            searchable=("name",),
        ),
    ]


# (from type, to type, max per record, forward primary typeId, forward unlabeled typeId | None,
#  reverse primary typeId, reverse unlabeled typeId | None, category)
@dataclass(frozen=True, slots=True)
class Relation:
    """A generated association between two object types (both directions are served)."""

    source: str
    target: str
    max_per_record: int
    forward_type_id: int
    reverse_type_id: int
    forward_primary_id: int | None = None
    reverse_primary_id: int | None = None
    category: str = "HUBSPOT_DEFINED"
    present_pct: int = 100
    #: a custom (``USER_DEFINED``) label: forward typeId, reverse typeId, label; generated on
    #: about one association in four
    custom_label: tuple[int, int, str] | None = None


RELATIONS: tuple[Relation, ...] = (
    Relation("contacts", "companies", 2, 279, 280, 1, 2, present_pct=90),
    Relation("deals", "contacts", 3, 3, 4, custom_label=(1001, 1002, "Decision maker")),
    Relation("deals", "companies", 1, 341, 342, 5, 6),
    Relation("tickets", "contacts", 2, 16, 15),
    Relation("tickets", "companies", 1, 339, 340),
    Relation("tickets", "deals", 1, 28, 27, present_pct=40),
    Relation("line_items", "deals", 1, 20, 19),
    Relation("calls", "contacts", 1, 194, 193),
    Relation("emails", "contacts", 1, 198, 197),
    Relation("meetings", "contacts", 2, 200, 199),
    Relation("notes", "contacts", 1, 202, 201),
    Relation("tasks", "contacts", 1, 204, 203),
    Relation("pets", "contacts", 1, 101, 102, category="USER_DEFINED"),
)

OWNER_FIRST = (
    "Ann",
    "Bo",
    "Carla",
    "Dev",
    "Elif",
    "Femi",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lena",
)
OWNER_LAST = (
    "Lee",
    "Moreau",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Sato",
    "Tanaka",
    "Ueda",
    "Voss",
)
TEAMS = (("101", "Sales"), ("102", "Support"), ("103", "Success"))


@dataclass(frozen=True, slots=True)
class Owner:
    id: int
    user_id: int | None
    email: str | None
    first_name: str
    last_name: str
    type: str
    archived: bool
    team: tuple[str, str] | None
    created_ms: int
    updated_ms: int


def build_owners(count: int) -> list[Owner]:
    """``count`` owners; every seventh is archived, the last one is a queue."""
    owners = []
    for i in range(count):
        first = OWNER_FIRST[i % len(OWNER_FIRST)]
        last = OWNER_LAST[(i * 7) % len(OWNER_LAST)]
        queue = i == count - 1
        owners.append(
            Owner(
                id=41_629_779 + i * 13,
                user_id=None if queue else 9_586_504 + i,
                email=None if queue else f"{first.lower()}.{last.lower()}{i}@headwater-demo.test",
                first_name="Inbound" if queue else first,
                last_name="Queue" if queue else last,
                type="QUEUE" if queue else "PERSON",
                archived=(i % 7 == 6),
                team=None if queue else TEAMS[i % len(TEAMS)],
                created_ms=1_577_279_295_228 + i * 86_400_000,
                updated_ms=1_692_711_626_790 + i * 3_600_000,
            )
        )
    return owners


@dataclass(frozen=True, slots=True)
class Pipeline:
    object_type: str
    id: str
    label: str
    display_order: int
    stages: tuple[tuple[str, str, str], ...]  # id, label, probability or ticket state
    default: bool
    added: tuple[tuple[str, int], ...] = ()  # (stage id, epoch ms) of stages created by the API

    def stage_created_ms(self, stage_id: str) -> int | None:
        return next((ms for sid, ms in self.added if sid == stage_id), None)

    @property
    def updated_ms(self) -> int | None:
        return max((ms for _, ms in self.added), default=None)


PIPELINES: tuple[Pipeline, ...] = (
    Pipeline("deals", "default", "Sales Pipeline", 0, DEAL_STAGES_DEFAULT, True),
    Pipeline("deals", "enterprise", "Enterprise Pipeline", 1, DEAL_STAGES_ENTERPRISE, False),
    Pipeline("tickets", "0", "Support Pipeline", 0, TICKET_STAGES, True),
)
