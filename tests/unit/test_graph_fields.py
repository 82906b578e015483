"""$select comes from allowlists; a body field can never be requested."""

from __future__ import annotations

import pytest

from shared.graph import ForbiddenField, GraphClient, select
from shared.graph.fields import BODY_FIELDS, MESSAGE_FIELDS, USER_FIELDS, keep_signin_fields


class _RefusingSession:
    """Outer edge stand-in: any network call is a test failure."""

    def request(self, *args, **kwargs):
        raise AssertionError("a request was sent")


def test_default_selects_are_the_allowlists():
    assert select("user").split(",") == list(USER_FIELDS)
    assert select("message").split(",") == list(MESSAGE_FIELDS)
    assert "mobilePhone" not in USER_FIELDS and "otherMails" not in USER_FIELDS


def test_id_is_always_selected_and_duplicates_collapse():
    assert select("message", ["subject", "subject"]) == "id,subject"


@pytest.mark.parametrize("field", sorted(BODY_FIELDS))
def test_body_fields_raise_before_any_request(field):
    tokens = []
    client = GraphClient(lambda: tokens.append(1) or "token", "https://graph.invalid/v1.0",
                         session=_RefusingSession())
    with pytest.raises(ForbiddenField, match="body"):
        list(client.messages("user-1", "receivedDateTime ge 2026-01-01T00:00:00Z",
                             ["id", field]))
    assert tokens == [], "not even a token was asked for"


@pytest.mark.parametrize("object_type,field", [
    ("user", "mobilePhone"), ("user", "otherMails"), ("message", "toRecipients"),
    ("attachment", "contentBytes"), ("nonsense", "id"),
])
def test_fields_off_the_allowlist_are_refused(object_type, field):
    with pytest.raises(ForbiddenField):
        select(object_type, [field])


def test_user_listing_with_a_personal_field_sends_nothing():
    client = GraphClient(lambda: "token", "https://graph.invalid/v1.0",
                         session=_RefusingSession())
    with pytest.raises(ForbiddenField):
        list(client.list_users(["displayName", "mobilePhone"]))


def test_signin_records_keep_time_user_app_success_and_interactive_only():
    record = {"id": "1", "createdDateTime": "2026-01-01T00:00:00Z", "userId": "u",
              "isInteractive": True, "clientAppUsed": "Browser",
              "userPrincipalName": "a@b.c", "appId": "app", "appDisplayName": "Slack",
              "ipAddress": "203.0.113.9", "location": {"city": "Berlin"},
              "deviceDetail": {"browser": "Edge"},
              "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": "x"}}
    kept = keep_signin_fields(record)
    assert set(kept) == {"id", "createdDateTime", "userId", "userPrincipalName", "appId",
                         "appDisplayName", "status", "isInteractive"}
    assert kept["status"] == {"errorCode": 0, "failureReason": "Other."}
