"""Settings validation, push envelope decoding and event contracts."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from shared.messaging.contracts import ContractError, SyncRequested, decode_event
from shared.messaging.push import MalformedEnvelope, decode_push
from shared.settings import Settings, SettingsError

GOOD = {"COAX_ENV": "local", "COAX_PUSH_AUTH": "false",
        "DATABASE_URL": "postgresql+pg8000://u:p@127.0.0.1:1/db"}


def test_settings_report_every_problem_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env("ingest", {"COAX_ENV": "staging", "COAX_PUSH_AUTH": "maybe"})
    problems = caught.value.problems
    assert any("DATABASE_URL is required" in p for p in problems)
    assert any("COAX_ENV must be one of" in p for p in problems)
    assert any("COAX_PUSH_AUTH must be true or false" in p for p in problems)


def test_settings_hide_the_database_password_from_repr():
    settings = Settings.from_env("ingest", GOOD)
    assert "u:p@" not in repr(settings)


def test_push_auth_needs_an_audience_and_the_cloud_refuses_local_mode():
    with pytest.raises(SettingsError, match="COAX_PUSH_AUDIENCE"):
        Settings.from_env("ingest", GOOD | {"COAX_PUSH_AUTH": "true"})
    with pytest.raises(SettingsError, match="COAX_SECRETS_DIR"):
        Settings.from_env("ingest", GOOD | {"COAX_ENV": "cloud", "COAX_PUSH_AUTH": "true",
                                            "COAX_PUSH_AUDIENCE": "a", "K_SERVICE": "ingest",
                                            "COAX_SECRETS_DIR": "/tmp/x"})


def _event() -> SyncRequested:
    return SyncRequested(org_id=str(uuid.uuid4()), connection_id=str(uuid.uuid4()),
                         reason="schedule", requested_at="2026-12-04T10:00:00+00:00")


def test_events_round_trip_through_their_contract():
    event = _event()
    assert decode_event(json.dumps(event.to_payload()).encode()) == event
    attributes = event.attributes("e-1")
    assert attributes == {"type": "sync-requested", "version": "1", "org_id": event.org_id,
                          "event_id": "e-1"}


@pytest.mark.parametrize("payload, message", [
    (b"not json", "not JSON"),
    (b"[]", "JSON object"),
    (b'{"type": "sync-requested"}', "integer version"),
    (b'{"type": "sync-requested", "version": 9, "data": {}}', "no contract"),
    (b'{"type": "sync-requested", "version": 1, "data": {"reason": "x"}}', "missing field"),
])
def test_broken_payloads_raise_contract_errors(payload, message):
    with pytest.raises(ContractError, match=message):
        decode_event(payload)


def test_contract_checks_types_uuids_and_unknown_fields():
    data = _event().to_payload()["data"]
    with pytest.raises(ContractError, match="UUID"):
        SyncRequested.from_data(data | {"org_id": "not-a-uuid"})
    with pytest.raises(ContractError, match="wrong type"):
        SyncRequested.from_data(data | {"reason": 5})
    with pytest.raises(ContractError, match="unknown fields"):
        SyncRequested.from_data(data | {"extra": 1})
    with pytest.raises(ContractError, match="ISO 8601"):
        SyncRequested.from_data(data | {"requested_at": "yesterday"})


def test_push_envelopes_in_the_emulators_exact_shape_decode():
    body = {"subscription": "projects/p/subscriptions/s",
            "message": {"data": base64.b64encode(b"hi").decode(), "attributes": {"a": "b"},
                        "messageId": "2", "message_id": "2", "publishTime": "2026-01-01T00:00:00Z",
                        "publish_time": "2026-01-01T00:00:00Z"}}
    message = decode_push(body)
    assert message.data == b"hi" and message.message_id == "2"
    assert message.dedupe_key == "msg:2"
    body["message"]["attributes"]["event_id"] = "evt"
    assert decode_push(body).dedupe_key == "evt"


@pytest.mark.parametrize("body, message", [
    ([], "JSON object"),
    ({"subscription": "s"}, "message"),
    ({"subscription": "s", "message": {"data": ""}}, "messageId"),
    ({"subscription": "s", "message": {"messageId": "1", "data": 5}}, "base64"),
    ({"subscription": "s", "message": {"messageId": "1", "attributes": {"a": 1}}}, "attributes"),
    ({"message": {"messageId": "1"}}, "subscription"),
    ({"subscription": "s", "message": {"messageId": "1"}, "deliveryAttempt": "3"},
     "deliveryAttempt"),
])
def test_malformed_envelopes_say_what_is_wrong(body, message):
    with pytest.raises(MalformedEnvelope, match=message):
        decode_push(body)
