"""The simulator's Graph answers: Microsoft's documented field names, permissions from the
token, the P1 licence 403, query limits, $batch, and privacy-violation accounting."""

from __future__ import annotations

import base64

import pytest

from tests.m365sim import fixtures

m365sim = fixtures.m365sim  # pytest finds fixtures by module attribute
m365sim_server = fixtures.m365sim_server

# Property names as Microsoft's Graph v1.0 reference documents them (JSON representations and
# the default property sets of "List users", "List signIns", "List messages", fileAttachment).
DOCUMENTED_USER = {"businessPhones", "displayName", "givenName", "jobTitle", "mail",
                   "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                   "userPrincipalName", "id"}
DOCUMENTED_SIGNIN = {
    "id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId",
    "appDisplayName", "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus",
    "isInteractive", "riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState",
    "riskEventTypes", "riskEventTypes_v2", "resourceDisplayName", "resourceId", "status",
    "deviceDetail", "location", "appliedConditionalAccessPolicies"}
DOCUMENTED_SIGNIN_STATUS = {"errorCode", "failureReason", "additionalDetails"}
DOCUMENTED_DEVICE_DETAIL = {"deviceId", "displayName", "operatingSystem", "browser",
                            "isCompliant", "isManaged", "trustType"}
DOCUMENTED_LOCATION = {"city", "state", "countryOrRegion", "geoCoordinates"}
DOCUMENTED_MESSAGE = {
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
    "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject",
    "bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex",
    "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
    "inferenceClassification", "body", "sender", "from", "toRecipients", "ccRecipients",
    "bccRecipients", "replyTo", "flag"}
DOCUMENTED_FILE_ATTACHMENT = {"contentBytes", "contentId", "contentLocation", "contentType",
                              "id", "isInline", "lastModifiedDateTime", "name", "size"}


def _fields(record: dict) -> set[str]:
    return {k for k in record if not k.startswith("@odata.")}


@pytest.fixture(scope="module")
def tokens(m365sim_server):
    return {t.tenant_id: m365sim_server.token_provider(t.tenant_id)()
            for t in m365sim_server.tenants}


def _get(sim, tokens, tenant_index, path, **params):
    tenant_id = sim.tenants[tenant_index].tenant_id
    return sim.session().get(f"{sim.graph_url}/{path}", params=params, timeout=30,
                             headers={"Authorization": f"Bearer {tokens[tenant_id]}"})


def _invoice(sim, tenant_index=0):
    truth = sim.world.ground_truth()["tenants"][tenant_index]
    return next(i for i in truth["invoices"] if i["attachment_id"])


def test_documented_field_names_of_user_signin_message_attachment(m365sim, tokens):
    user = _get(m365sim, tokens, 0, "users", **{"$top": "1"}).json()["value"][0]
    assert _fields(user) == DOCUMENTED_USER
    sign_in = _get(m365sim, tokens, 0, "auditLogs/signIns", **{"$top": "1"}).json()["value"][0]
    assert _fields(sign_in) == DOCUMENTED_SIGNIN
    assert set(sign_in["status"]) == DOCUMENTED_SIGNIN_STATUS
    assert set(sign_in["deviceDetail"]) == DOCUMENTED_DEVICE_DETAIL
    assert set(sign_in["location"]) == DOCUMENTED_LOCATION
    invoice = _invoice(m365sim)
    box = f"users/{invoice['mailbox_user_id']}/messages"
    message = _get(m365sim, tokens, 0, box, **{"$top": "1"}).json()["value"][0]
    assert _fields(message) == DOCUMENTED_MESSAGE
    assert set(message["from"]) == {"emailAddress"}
    assert set(message["from"]["emailAddress"]) == {"name", "address"}
    attachment = _get(m365sim, tokens, 0,
                      f"{box}/{invoice['message_id']}/attachments").json()["value"][0]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert _fields(attachment) == DOCUMENTED_FILE_ATTACHMENT
    # Comparing the whole documented shape meant asking without $select, on purpose.
    m365sim.forget_privacy_violations()


def test_signins_need_a_p1_licence(m365sim, tokens):
    answer = _get(m365sim, tokens, 1, "auditLogs/signIns")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert error["message"] == "Neither tenant is B2C or tenant doesn't have premium license"


def test_signin_filter_is_newest_first_and_inside_the_window(m365sim, tokens):
    window = "createdDateTime ge 2026-11-20T00:00:00Z and createdDateTime lt 2026-11-23T00:00:00Z"
    answer = _get(m365sim, tokens, 0, "auditLogs/signIns", **{"$filter": window})
    stamps = [s["createdDateTime"] for s in answer.json()["value"]]
    assert stamps and stamps == sorted(stamps, reverse=True)
    assert all("2026-11-20T" <= s < "2026-11-23T" for s in stamps)
    expected = m365sim.world.tenants[0].signins.events
    assert len(stamps) == sum(1 for e in expected
                              if "2026-11-20" <= e.created.date().isoformat() < "2026-11-23")


def test_metadata_only_tenant_gets_no_attachments_and_no_bodies(m365sim, tokens):
    invoice = _invoice(m365sim, tenant_index=1)
    box = f"users/{invoice['mailbox_user_id']}/messages"
    listing = _get(m365sim, tokens, 1, f"{box}/{invoice['message_id']}/attachments")
    assert listing.status_code == 403
    assert listing.json()["error"]["code"] == "ErrorAccessDenied"
    with_body = _get(m365sim, tokens, 1, box, **{"$select": "id,body"})
    assert with_body.status_code == 403
    default = _get(m365sim, tokens, 1, box).json()["value"]
    assert default and not any({"body", "bodyPreview"} & set(m) for m in default)
    reasons = [v["reason"] for v in m365sim.stats()["privacy_violations"]]
    assert reasons == ["$select asked for body fields", "no $select: Graph returns the body"]
    m365sim.forget_privacy_violations()


def test_body_select_is_served_and_counted_as_a_violation(m365sim, tokens):
    invoice = _invoice(m365sim)
    box = f"users/{invoice['mailbox_user_id']}/messages"
    answer = _get(m365sim, tokens, 0, box, **{"$select": "id,subject,bodyPreview"})
    assert answer.status_code == 200 and "bodyPreview" in answer.json()["value"][0]
    clean = _get(m365sim, tokens, 0, box, **{"$select": "id,subject,from,receivedDateTime"})
    assert clean.status_code == 200
    violations = m365sim.stats()["privacy_violations"]
    assert len(violations) == 1
    assert violations[0]["fields"] == ["bodyPreview"]
    m365sim.forget_privacy_violations()
    assert violations[0]["mailbox"] == invoice["mailbox_user_id"]


def test_sender_filter_returns_only_those_senders(m365sim, tokens):
    truth = m365sim.world.ground_truth()["tenants"][0]
    mailbox = truth["billing_messages"][0]["mailbox_user_id"]
    senders = sorted({m["sender"] for m in truth["billing_messages"]
                      if m["mailbox_user_id"] == mailbox})
    clause = " or ".join(f"from/emailAddress/address eq '{s}'" for s in senders)
    answer = _get(m365sim, tokens, 0, f"users/{mailbox}/messages", **{
        "$filter": f"receivedDateTime ge 2026-01-01T00:00:00Z and ({clause})",
        "$select": "id,from", "$top": "1000"})
    got = {m["id"] for m in answer.json()["value"]}
    expected = {m["message_id"] for m in truth["billing_messages"]
                if m["mailbox_user_id"] == mailbox}
    assert expected <= got
    assert {m["from"]["emailAddress"]["address"] for m in answer.json()["value"]} <= set(senders)


@pytest.mark.parametrize("path,params,code", [
    ("users", {"$top": "1000"}, "Request_UnsupportedQuery"),
    ("users", {"$select": "id,favouriteColour"}, "BadRequest"),
    ("auditLogs/signIns", {"$top": "1001"}, "Request_UnsupportedQuery"),
])
def test_documented_limits_answer_400(m365sim, tokens, path, params, code):
    answer = _get(m365sim, tokens, 0, path, **params)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


def test_orderby_must_lead_the_filter(m365sim, tokens):
    mailbox = m365sim.world.tenants[0].directory.users[0].id
    answer = _get(m365sim, tokens, 0, f"users/{mailbox}/messages", **{
        "$filter": "from/emailAddress/address eq 'a@b.c' and "
                   "receivedDateTime ge 2026-01-01T00:00:00Z",
        "$orderby": "receivedDateTime desc"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InefficientFilter"


def test_batch_limits_order_and_per_part_status(m365sim, tokens):
    tenant_id = m365sim.tenants[0].tenant_id
    session = m365sim.session()
    headers = {"Authorization": f"Bearer {tokens[tenant_id]}"}
    users = m365sim.world.tenants[0].directory.active_users()
    parts = [{"id": str(i), "method": "GET", "url": f"/users/{u.id}/messages?$select=id"}
             for i, u in enumerate(users[:10])]
    parts.append({"id": "missing", "method": "GET", "url": "/users/nobody/messages"})
    answer = session.post(f"{m365sim.graph_url}/$batch", json={"requests": parts},
                          headers=headers, timeout=30)
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert {r["id"] for r in responses} == {p["id"] for p in parts}
    assert [r["id"] for r in responses] != [p["id"] for p in parts], "answers in any order"
    status = {r["id"]: r["status"] for r in responses}
    assert status.pop("missing") == 404 and set(status.values()) == {200}
    too_many = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(21)]
    refused = session.post(f"{m365sim.graph_url}/$batch", json={"requests": too_many},
                           headers=headers, timeout=30)
    assert refused.status_code == 400


def test_stats_count_per_endpoint_mailbox_and_status(m365sim, tokens):
    mailbox = m365sim.world.tenants[0].directory.users[1].id
    _get(m365sim, tokens, 0, f"users/{mailbox}/messages", **{"$select": "id"})
    _get(m365sim, tokens, 0, "users", **{"$top": "2000"})
    stats = m365sim.stats()
    assert stats["by_endpoint"] == {"GET /users/{id}/messages": 1, "GET /users": 1}
    assert stats["by_mailbox"] == {mailbox: 1}
    assert stats["by_status"] == {"200": 1, "400": 1}


def test_attachment_get_and_value_agree(m365sim, tokens):
    invoice = _invoice(m365sim)
    base = (f"users/{invoice['mailbox_user_id']}/messages/{invoice['message_id']}"
            f"/attachments/{invoice['attachment_id']}")
    item = _get(m365sim, tokens, 0, base).json()
    raw = _get(m365sim, tokens, 0, f"{base}/$value")
    assert raw.headers["Content-Type"] == "application/pdf"
    assert base64.b64decode(item["contentBytes"]) == raw.content
    assert raw.content.startswith(b"%PDF") and item["name"].endswith(".pdf")
    missing = _get(m365sim, tokens, 0, base.replace(invoice["attachment_id"], "AAMkAGAttnone"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


@pytest.mark.parametrize("path,params", [
    ("users", {"$skiptoken": "not-base64-json"}),
    ("users", {"$skiptoken": "eyJhZnRlciI6ICJ4In0"}),  # {"after": "x"}
    ("users/delta", {"$deltatoken": "e30"}),  # {}
    ("auditLogs/signIns", {"$skiptoken": "WzFd"}),  # [1]
])
def test_tampered_paging_tokens_answer_400(m365sim, tokens, path, params):
    answer = _get(m365sim, tokens, 0, path, **params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "Request_BadRequest"
