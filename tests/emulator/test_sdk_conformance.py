"""HubSpot's official Python SDK (hubspot-api-client 12, strict client-side validation) against the
emulator over real sockets: every endpoint family must deserialise without error."""

from __future__ import annotations

import json

import hubspot
import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.objects import BatchReadInputSimplePublicObjectId, PublicObjectSearchRequest
from hubspot.oauth.exceptions import ApiException as OAuthApiException

from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator
from headwater.emulator.hubspot.crm_objects import EXTRA_RELATIONS

from .helpers import small_config


def _client(emu: RunningEmulator, token: str | None = None) -> hubspot.Client:
    kwargs = {"host": emu.base_url, "client_side_validation": True}
    if token is not None:
        kwargs["access_token"] = token
    return hubspot.Client.create(**kwargs)


@pytest.fixture(scope="module")
def emu_config() -> EmulatorConfig:
    return small_config(
        seed=7,
        contacts=1_200,
        companies=300,
        deals=400,
        tickets=200,
        engagements=150,
        custom_records=120,
        line_items=5_000,
        products=200,
    )


@pytest.fixture(scope="module")
def token(emu: RunningEmulator) -> str:
    oauth = _client(emu)
    tok = oauth.oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=emu.refresh_token,
        client_id=emu.oauth_client_id,
        client_secret=emu.oauth_client_secret,
        redirect_uri="http://localhost/cb",
    )
    assert tok.expires_in == 1800
    assert tok.token_type == "bearer"
    return str(tok.access_token)


@pytest.fixture(scope="module")
def client(emu: RunningEmulator, token: str) -> hubspot.Client:
    c = _client(emu, token)
    assert c.crm.objects.basic_api.api_client.configuration.client_side_validation is True
    return c


def test_oauth_token_metadata_and_errors(emu: RunningEmulator, token: str) -> None:
    oauth = _client(emu)
    info = oauth.oauth.access_tokens_api.get(token)
    assert info.hub_id == emu.portal_id
    assert info.token == token
    assert 0 < info.expires_in <= 1800
    assert "crm.objects.contacts.read" in info.scopes
    rinfo = oauth.oauth.refresh_tokens_api.get(emu.refresh_token)
    assert rinfo.client_id == emu.oauth_client_id
    assert rinfo.token_type == "refresh"
    with pytest.raises(OAuthApiException) as bad:
        oauth.oauth.tokens_api.create(
            grant_type="refresh_token",
            refresh_token="bad",
            client_id=emu.oauth_client_id,
            client_secret=emu.oauth_client_secret,
        )
    assert bad.value.status == 400
    assert json.loads(bad.value.body)["status"] == "BAD_REFRESH_TOKEN"


@pytest.mark.parametrize(
    "object_type",
    [
        "contacts",
        "companies",
        "deals",
        "tickets",
        "products",
        "line_items",
        "calls",
        "emails",
        "meetings",
        "notes",
        "tasks",
        "p62515_pets",
        "2-1000001",
        "p_pets",
        "contact",
        "quotes",
        "leads",
        "goal_targets",
        "feedback_submissions",
        "communications",
        "postal_mail",
        "deal_splits",
        "invoices",
        "orders",
        "0-142",
    ],
)
def test_list_read_batch_search_every_type(
    client: hubspot.Client, emu: RunningEmulator, object_type: str
) -> None:
    objects = client.crm.objects
    page = objects.basic_api.get_page(
        object_type, limit=5, properties=["hs_object_id"], associations=["contacts"]
    )
    assert len(page.results) == 5
    assert page.paging.next.link.startswith(emu.base_url)
    first = page.results[0]
    one = objects.basic_api.get_by_id(
        object_type, first.id, properties_with_history=["hs_object_id"]
    )
    assert one.id == first.id
    batch = objects.batch_api.read(
        object_type,
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": r.id} for r in page.results],
            properties=["hs_object_id"],
            properties_with_history=[],
        ),
    )
    assert batch.status == "COMPLETE"
    assert sorted(r.id for r in batch.results) == sorted(r.id for r in page.results)
    found = objects.search_api.do_search(
        object_type,
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "hs_object_id", "operator": "LTE", "value": "50"}]}
            ],
            sorts=[{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
            limit=20,
            after="0",
        ),
    )
    assert found.total > 20
    assert [int(r.id) for r in found.results] == sorted(
        (int(r.id) for r in found.results), reverse=True
    )


def test_get_all_pages_until_paging_is_absent(client: hubspot.Client, emu: RunningEmulator) -> None:
    everything = client.crm.contacts.get_all(properties=["email", "firstname", "lastname"])
    live = int((~emu.state.stores["contacts"].archived[: emu.state.stores["contacts"].size]).sum())
    assert len(everything) == live
    ids = [int(c.id) for c in everything]
    assert ids == sorted(ids)
    assert all(c.properties["email"] for c in everything)


def test_contacts_package_basic_batch_search(client: hubspot.Client) -> None:
    contacts = client.crm.contacts
    page = contacts.basic_api.get_page(limit=3, properties=["email"], associations=["companies"])
    assert page.results[0].associations is not None
    s = contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
            ],
            sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            properties=["email"],
            limit=200,
            after="0",
        )
    )
    assert s.total > 1000
    assert len(s.results) == 200
    assert s.paging.next.after == "200"


def test_properties_v3_every_type(client: hubspot.Client) -> None:
    for object_type in (
        "contacts",
        "companies",
        "deals",
        "tickets",
        "products",
        "line_items",
        "calls",
        "notes",
        "2-1000001",
    ):
        props = client.crm.properties.core_api.get_all(object_type)
        types = {p.type for p in props.results}
        assert props.results
        if object_type == "contacts":
            assert {"string", "number", "bool", "date", "datetime", "enumeration"} <= types
    one = client.crm.properties.core_api.get_by_name("contacts", "email")
    assert one.name == "email"
    groups = client.crm.properties.groups_api.get_all("contacts")
    assert groups.results


def test_owners_pipelines_schemas(client: hubspot.Client) -> None:
    owners = client.crm.owners.owners_api.get_page()
    assert owners.results
    assert {o.type for o in owners.results} <= {"PERSON", "QUEUE"}
    archived = client.crm.owners.owners_api.get_page(archived=True)
    assert all(o.archived for o in archived.results)
    one = client.crm.owners.owners_api.get_by_id(int(owners.results[0].id))
    assert one.id == owners.results[0].id
    for object_type in ("deals", "tickets"):
        pipes = client.crm.pipelines.pipelines_api.get_all(object_type)
        assert all(p.stages for p in pipes.results)
        stages = client.crm.pipelines.pipeline_stages_api.get_all(object_type, pipes.results[0].id)
        assert stages.results
    schemas = client.crm.schemas.core_api.get_all()
    assert [s.fully_qualified_name for s in schemas.results] == ["p62515_pets"]
    schema = client.crm.schemas.core_api.get_by_id("p62515_pets")
    assert schema.object_type_id == "2-1000001"


def test_settings_users_and_teams(client: hubspot.Client) -> None:
    users_api = client.settings.users.users_api
    first = users_api.get_page(limit=5)
    assert len(first.results) == 5
    assert all(u.id and u.email for u in first.results)
    rest = users_api.get_page(limit=100, after=first.paging.next.after)
    assert rest.paging is None
    users = [*first.results, *rest.results]
    assert users_api.get_by_id(users[0].id).email == users[0].email
    teams = client.settings.users.teams_api.get_all()
    assert {t.name for t in teams.results} == {"Sales", "Support", "Success"}
    members = {m for t in teams.results for m in t.user_ids}
    assert members == {u.id for u in users if u.primary_team_id}


def test_associations_v4_batch_and_per_object(client: hubspot.Client) -> None:
    assoc = client.crm.associations.v4.batch_api.get_page(
        "contacts",
        "companies",
        batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[{"id": str(i)} for i in range(1, 51)]
        ),
    )
    assert assoc.status == "COMPLETE"
    assert assoc.results
    assert all(t.to_object_id for r in assoc.results for t in r.to)
    back = client.crm.associations.v4.basic_api.get_page(
        "companies", assoc.results[0].to[0].to_object_id, "contacts", limit=500
    )
    assert int(assoc.results[0]._from.id) in [int(r.to_object_id) for r in back.results]


@pytest.mark.parametrize(
    ("source", "target"),
    [(r.source, r.target) for r in EXTRA_RELATIONS]
    + [(r.target, r.source) for r in EXTRA_RELATIONS],
)
def test_associations_of_the_other_standard_objects(
    client: hubspot.Client, source: str, target: str
) -> None:
    labels = client.crm.associations.v4.schema.definitions_api.get_all(source, target)
    assert labels.results
    assert {x.category for x in labels.results} == {"HUBSPOT_DEFINED"}
    assoc = client.crm.associations.v4.batch_api.get_page(
        source,
        target,
        batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[{"id": str(i)} for i in range(1, 101)]
        ),
    )
    assert assoc.status == "COMPLETE"
    assert assoc.results
    ids = {x.type_id for x in labels.results}
    assert {t.type_id for r in assoc.results for to in r.to for t in to.association_types} <= ids


def test_expired_and_unknown_tokens_raise_typed_exceptions(emu: RunningEmulator) -> None:
    bad = _client(emu, "expired")
    with pytest.raises(ContactsApiException) as exc:
        bad.crm.contacts.basic_api.get_page()
    assert exc.value.status == 401
    assert json.loads(exc.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_get_all_helpers_for_every_package(client: hubspot.Client, emu: RunningEmulator) -> None:
    crm = client.crm
    helpers = {
        "companies": crm.companies.get_all,
        "deals": crm.deals.get_all,
        "tickets": crm.tickets.get_all,
        "products": crm.products.get_all,
        "line_items": crm.line_items.get_all,
    }
    for name, get_all in helpers.items():
        store = emu.state.stores[name]
        live = int((~store.archived[: store.size]).sum())
        assert len(get_all()) == live, name
    pets = crm.objects.get_all("p62515_pets", properties=["name", "species"])
    assert pets
    assert all(p.properties["species"] for p in pets)
    owners = crm.owners.get_all()
    assert len(owners) == len([o for o in emu.state.owners if not o.archived])


def test_history_batch_properties_and_single_pipeline(client: hubspot.Client) -> None:
    hist = client.crm.contacts.basic_api.get_page(
        limit=50, properties_with_history=["lifecyclestage", "email"], archived=False
    )
    assert all(r.properties_with_history["lifecyclestage"][0].source_type for r in hist.results)
    archived = client.crm.contacts.basic_api.get_page(limit=10, archived=True)
    assert archived.results
    assert all(r.archived and r.archived_at for r in archived.results)
    from hubspot.crm.properties import BatchReadInputPropertyName

    props = client.crm.properties.batch_api.read(
        "deals",
        batch_read_input_property_name=BatchReadInputPropertyName(
            archived=False, inputs=[{"name": "amount"}, {"name": "dealstage"}]
        ),
    )
    assert sorted(p.name for p in props.results) == ["amount", "dealstage"]
    pipe = client.crm.pipelines.pipelines_api.get_by_id("deals", "enterprise")
    assert [s.id for s in pipe.stages][:2] == ["101", "102"]
    labels = client.crm.associations.v4.schema.definitions_api.get_all("contacts", "companies")
    assert {x.type_id for x in labels.results} == {1, 279}


def test_authorization_code_grant_through_the_sdk(emu: RunningEmulator) -> None:
    from urllib.parse import parse_qs, urlparse

    import httpx
    from hubspot.utils.oauth import get_auth_url

    url = get_auth_url(
        emu.oauth_client_id,
        "http://localhost:7/cb",
        scope=("oauth", "crm.objects.contacts.read"),
        state="s1",
    )
    assert url.startswith("https://app.hubspot.com/oauth/authorize?")
    query = urlparse(url).query
    with httpx.Client(base_url=emu.base_url) as http:
        assert http.get(f"/oauth/authorize?{query}").status_code == 200
        code = parse_qs(
            urlparse(http.post(f"/oauth/authorize/grant?{query}").headers["location"]).query
        )["code"][0]
    tok = _client(emu).oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://localhost:7/cb",
        client_id=emu.oauth_client_id,
        client_secret=emu.oauth_client_secret,
    )
    assert tok.expires_in == 1800
    contacts = _client(emu, tok.access_token).crm.contacts.basic_api.get_page(limit=1)
    assert contacts.results


def test_lists_through_the_sdk(client: hubspot.Client) -> None:
    from hubspot.crm.lists import ListSearchRequest

    found = client.crm.lists.lists_api.do_search(
        list_search_request=ListSearchRequest(count=5, offset=0, query="")
    )
    assert found.total == 30
    assert len(found.lists) == 5
    one = client.crm.lists.lists_api.get_by_id(found.lists[0].list_id)
    assert one.list.name == found.lists[0].name
    members = client.crm.lists.memberships_api.get_page(found.lists[0].list_id, limit=50)
    assert members.results
    assert members.results[0].membership_timestamp is not None


def test_marketing_emails_and_subscription_definitions_through_the_sdk(
    client: hubspot.Client,
) -> None:
    emails = client.marketing.emails.marketing_emails_api.get_page(include_stats=True, limit=5)
    assert emails.total == 12 and len(emails.results) == 5
    assert emails.results[0].stats.counters["sent"] > 0
    assert emails.paging.next.after
    one = client.marketing.emails.marketing_emails_api.get_by_id(emails.results[0].id)
    assert one.name == emails.results[0].name
    defs = client.communication_preferences.definition_api.get_page()
    assert len(defs.subscription_definitions) == 5


def test_list_filters_and_forms_through_the_sdk_without_strict_mode(emu: RunningEmulator) -> None:
    """SDK 12 flattens two of HubSpot's unions into one strict model that requires the members of
    every alternative: a list filter operation must have both ``value`` and ``values``, and a form
    field (typed ``DependentFieldDependentField``) the members of every field type, such as a
    phone field's ``minAllowedDigits`` on an email field. No answer HubSpot documents passes that,
    so these two are checked with client-side validation off."""
    lax = hubspot.Client.create(
        host=emu.base_url, access_token=emu.private_app_token, client_side_validation=False
    )
    lists = lax.crm.lists.lists_api.get_all(list_ids=[2, 3], include_filters=True).lists
    assert {x.list_id for x in lists} == {"2", "3"}
    assert lists[0].filter_branch.filter_branch_type == "OR"
    forms = lax.marketing.forms.forms_api.get_page(limit=3)
    assert len(forms.results) == 3 and forms.paging.next.after
    assert lax.marketing.forms.forms_api.get_by_id(forms.results[0].id).name


# --------------------------------------------------------------------------- writes (last: they change the portal)


def _unassociated(emu: RunningEmulator, src: str, dst: str) -> tuple[int, int]:
    graph = emu.state.graph
    for a in range(1, 200):
        linked = {link.to_id for link in graph.links(src, dst, a)}
        b = next(b for b in range(1, 200) if b not in linked)
        if not emu.state.stores[src].is_archived(a) and not emu.state.stores[dst].is_archived(b):
            return a, b
    raise AssertionError("no unassociated pair")


def test_association_writes_v4_basic_and_batch(
    client: hubspot.Client, emu: RunningEmulator
) -> None:
    from hubspot.crm.associations.v4 import (
        AssociationSpec,
        BatchInputPublicAssociationMultiArchive,
        BatchInputPublicAssociationMultiPost,
        BatchInputPublicDefaultAssociationMultiPost,
    )

    basic = client.crm.associations.v4.basic_api
    batch = client.crm.associations.v4.batch_api
    contact, company = _unassociated(emu, "contacts", "companies")
    made = basic.create_default("contacts", contact, "companies", company)
    assert made.status == "COMPLETE"
    assert {r.association_spec.association_type_id for r in made.results} == {279, 280}
    labelled = basic.create(
        "contacts",
        contact,
        "companies",
        company,
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)],
    )
    assert labelled.labels == ["Primary"]
    assert int(labelled.to_object_id) == company
    basic.archive("contacts", contact, "companies", company)
    page = basic.get_page("contacts", contact, "companies")
    assert company not in [int(r.to_object_id) for r in page.results]

    deal, contact2 = _unassociated(emu, "deals", "contacts")
    created = batch.create(
        "deals",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                {
                    "from": {"id": str(deal)},
                    "to": {"id": str(contact2)},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
                }
            ]
        ),
    )
    assert created.status == "COMPLETE"
    assert [int(r.from_object_id) for r in created.results] == [deal]
    batch.archive_labels(
        "deals",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                {
                    "from": {"id": str(deal)},
                    "to": {"id": str(contact2)},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
                }
            ]
        ),
    )
    defaults = batch.create_default(
        "deals",
        "contacts",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[{"from": {"id": str(deal)}, "to": {"id": str(contact2)}}]
        ),
    )
    assert defaults.results
    batch.archive(
        "deals",
        "contacts",
        BatchInputPublicAssociationMultiArchive(
            inputs=[{"from": {"id": str(deal)}, "to": [{"id": str(contact2)}]}]
        ),
    )
    left = batch.get_page(
        "deals",
        "contacts",
        batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[{"id": str(deal)}]
        ),
    )
    assert contact2 not in [t.to_object_id for r in left.results for t in r.to]


def test_merge_every_mergeable_package_and_gdpr_delete(
    client: hubspot.Client, emu: RunningEmulator
) -> None:
    from hubspot.crm.contacts import PublicGdprDeleteInput, PublicMergeInput
    from hubspot.crm.contacts.exceptions import NotFoundException

    crm = client.crm
    for package, object_type in (
        (crm.contacts, "contacts"),
        (crm.companies, "companies"),
        (crm.deals, "deals"),
        (crm.tickets, "tickets"),
    ):
        store = emu.state.stores[object_type]
        primary, secondary = [i for i in range(150, 200) if not store.is_archived(i)][:2]
        merged = package.basic_api.merge(
            public_merge_input=PublicMergeInput(
                primary_object_id=str(primary), object_id_to_merge=str(secondary)
            )
        )
        assert int(merged.id) > store.generated, object_type
        again = package.basic_api.get_by_id(str(secondary), properties=["hs_merged_object_ids"])
        assert again.id == merged.id
        assert again.properties["hs_merged_object_ids"] == f"{primary};{secondary}"
    victim = next(i for i in range(100, 150) if not emu.state.stores["contacts"].is_archived(i))
    crm.contacts.basic_api.purge(
        public_gdpr_delete_input=PublicGdprDeleteInput(object_id=str(victim))
    )
    with pytest.raises(NotFoundException):
        crm.contacts.basic_api.get_by_id(str(victim))


def test_list_and_subscription_writes_through_the_sdk(client: hubspot.Client) -> None:
    from hubspot.communication_preferences import PublicUpdateSubscriptionStatusRequest
    from hubspot.crm.lists import ListCreateRequest, MembershipChangeRequest

    made = client.crm.lists.lists_api.create(
        ListCreateRequest(name="SDK list", object_type_id="0-1", processing_type="MANUAL")
    )
    list_id = made.list.list_id
    added = client.crm.lists.memberships_api.add(list_id, [5, 6])
    assert sorted(added.records_ids_added) == ["5", "6"]
    changed = client.crm.lists.memberships_api.add_and_remove(
        list_id, MembershipChangeRequest(record_ids_to_add=["7"], record_ids_to_remove=["5"])
    )
    assert changed.records_ids_added == ["7"] and changed.record_ids_removed == ["5"]
    page = client.crm.lists.memberships_api.get_page(list_id)
    assert [m.record_id for m in page.results] == ["6", "7"]
    status = client.communication_preferences.status_api.subscribe(
        PublicUpdateSubscriptionStatusRequest(email_address="sdk@b.test", subscription_id="2849")
    )
    assert status.status == "SUBSCRIBED"


def test_pipeline_stage_create_through_the_sdk(client: hubspot.Client) -> None:
    from hubspot.crm.pipelines import PipelineStageInput

    stage = client.crm.pipelines.pipeline_stages_api.create(
        "deals",
        "default",
        PipelineStageInput(label="Contract sent", display_order=3, metadata={"probability": "0.8"}),
    )
    assert stage.label == "Contract sent" and stage.display_order == 3
    listed = client.crm.pipelines.pipeline_stages_api.get_all("deals", "default").results
    assert [s.id for s in listed][3] == stage.id


def test_user_create_through_the_sdk(client: hubspot.Client) -> None:
    from hubspot.settings.users import UserProvisionRequest

    users_api = client.settings.users.users_api
    made = users_api.create(
        UserProvisionRequest(
            email="sdk.user@headwater-demo.test", send_welcome_email=True, primary_team_id="101"
        )
    )
    assert made.email == "sdk.user@headwater-demo.test" and made.send_welcome_email is True
    assert users_api.get_by_id(made.id).primary_team_id == "101"
