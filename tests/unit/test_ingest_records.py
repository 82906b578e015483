"""What ingest keeps of Graph users and sign-ins, and how it refuses what it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.records import (
    DIRECTORY_FIELDS,
    DirectoryRemoval,
    DirectoryUser,
    MalformedRecord,
    directory_change,
    sign_in,
)
from services.ingest.sign_in_store import copy_text

USER_ID = "6e1f0f5e-3a8b-4c11-9a0e-2f3c4d5e6f70"
APP_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
SIGN_IN_ID = "0b4f6a3e-9d0c-4e5f-8a7b-6c5d4e3f2a10"

FULL_USER = {
    "id": USER_ID, "displayName": "Ada Lovelace", "userPrincipalName": "ada@contoso.example",
    "mail": "ada@contoso.example", "jobTitle": "Analyst", "department": "Finance",
    "accountEnabled": True, "mobilePhone": "+45 20 123456", "otherMails": ["ada@home.example"],
    "streetAddress": "1 Private Lane", "birthday": "1815-12-10",
}

GRAPH_SIGN_IN = {
    "id": SIGN_IN_ID, "createdDateTime": "2026-11-20T09:15:00Z", "userId": USER_ID,
    "userPrincipalName": "ada@contoso.example", "appId": APP_ID,
    "appDisplayName": "Microsoft Teams", "ipAddress": "203.0.113.7", "isInteractive": True,
    "status": {"errorCode": 0, "failureReason": "Other."},
    "location": {"city": "Copenhagen"}, "deviceDetail": {"browser": "Edge"},
}


def test_the_directory_select_asks_for_business_fields_only():
    assert set(DIRECTORY_FIELDS) == {"id", "displayName", "userPrincipalName", "mail",
                                     "jobTitle", "department", "accountEnabled"}


def test_a_user_keeps_business_fields_and_drops_personal_ones_even_when_sent():
    user = directory_change(FULL_USER)
    assert user == DirectoryUser(USER_ID, "Ada Lovelace", "ada@contoso.example",
                                 "ada@contoso.example", "Analyst", "Finance", True)
    kept = " ".join(str(v) for v in vars(user).values())
    for personal in ("+45 20 123456", "ada@home.example", "Private Lane", "1815"):
        assert personal not in kept


def test_a_delta_item_remembers_which_properties_it_carried():
    partial = directory_change({"id": USER_ID, "department": "Sales", "jobTitle": None})
    assert partial.present == {"department", "job_title"}
    assert partial.job_title is None and partial.department == "Sales"


def test_a_removed_user_is_a_removal():
    assert directory_change({"id": USER_ID, "@removed": {"reason": "changed"}}) == \
        DirectoryRemoval(USER_ID)


@pytest.mark.parametrize("record, problem", [
    ({"displayName": "No id"}, "user id is missing"),
    ({"id": "not-a-guid"}, "not a GUID"),
    ({"id": USER_ID, "accountEnabled": "yes"}, "accountEnabled"),
    ({"id": USER_ID, "department": 7}, "department must be text"),
    (["not", "an", "object"], "must be an object"),
])
def test_an_unreadable_user_is_a_typed_error(record, problem):
    with pytest.raises(MalformedRecord, match=problem):
        directory_change(record)


def test_a_sign_in_keeps_time_user_app_outcome_and_interactivity_only():
    kept = sign_in(GRAPH_SIGN_IN)
    assert kept.created_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert (kept.id, kept.user_id, kept.app_id, kept.app_name) == (
        SIGN_IN_ID, USER_ID, APP_ID, "Microsoft Teams")
    assert kept.succeeded and kept.interactive
    assert set(vars(kept)) == {"id", "created_at", "user_id", "app_id", "app_name", "succeeded",
                               "interactive"}


def test_a_failed_or_non_interactive_sign_in_says_so():
    failed = sign_in({**GRAPH_SIGN_IN, "status": {"errorCode": 50126}, "isInteractive": False})
    assert not failed.succeeded and not failed.interactive


def test_sign_in_times_are_normalised_to_utc():
    shifted = sign_in({**GRAPH_SIGN_IN, "createdDateTime": "2026-11-20T10:15:00+01:00"})
    assert shifted.created_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("change, problem", [
    ({"id": None}, "sign-in id is missing"),
    ({"appId": "teams"}, "app id is not a GUID"),
    ({"createdDateTime": "yesterday"}, "not an ISO 8601"),
    ({"createdDateTime": "2026-11-20T09:15:00"}, "no time zone"),
    ({"status": None}, "errorCode"),
    ({"status": {"errorCode": "0"}}, "errorCode"),
])
def test_an_unreadable_sign_in_is_a_typed_error(change, problem):
    with pytest.raises(MalformedRecord, match=problem):
        sign_in({**GRAPH_SIGN_IN, **change})


def test_copy_rows_escape_what_would_break_the_copy_format():
    tricky = sign_in({**GRAPH_SIGN_IN, "appDisplayName": "Tab\there\\new\nline"})
    line = copy_text("org", "conn", [tricky]).decode()
    assert line.count("\n") == 1 and line.endswith("\n")
    fields = line.rstrip("\n").split("\t")
    assert len(fields) == 9
    assert fields[6] == "Tab\\there\\\\new\\nline"
    assert copy_text("org", "conn", []) == b""
