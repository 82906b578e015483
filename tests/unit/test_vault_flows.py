"""Connect-flow state: sealed, expiring, bound to its flow kind; state replacement in URLs."""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from services.token_vault.errors import VaultRefusal
from services.token_vault.flows import callback_error, open_state, seal_state, with_state
from shared.crypto import seal_session

KEY = os.urandom(64)


def test_a_sealed_state_opens_for_its_own_flow_only():
    state = seal_state(KEY, "admin-consent", {"org_id": "o", "mode": "metadata"}, 60)
    assert open_state(KEY, "admin-consent", state)["org_id"] == "o"
    with pytest.raises(VaultRefusal) as refused:
        open_state(KEY, "delegated", state)
    assert refused.value.code == "invalid_state"


@pytest.mark.parametrize("state", [None, "", "not base64!", "A" * 40])
def test_missing_or_garbage_state_is_a_clear_400(state):
    with pytest.raises(VaultRefusal) as refused:
        open_state(KEY, "admin-consent", state)
    assert (refused.value.status, refused.value.code) == (400, "invalid_state")


def test_a_state_sealed_with_another_key_or_tampered_is_refused():
    state = seal_state(os.urandom(64), "admin-consent", {"org_id": "o"}, 60)
    with pytest.raises(VaultRefusal):
        open_state(KEY, "admin-consent", state)
    good = seal_state(KEY, "admin-consent", {"org_id": "o"}, 60)
    flipped = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]
    with pytest.raises(VaultRefusal):
        open_state(KEY, "admin-consent", flipped)


def test_an_expired_state_says_so():
    purpose = "token-vault/connect-state/admin-consent"
    state = seal_session(KEY, {"flow": "admin-consent"}, purpose, 60, now=time.time() - 120)
    with pytest.raises(VaultRefusal) as refused:
        open_state(KEY, "admin-consent", state)
    assert refused.value.code == "state_expired"


def test_with_state_replaces_only_the_state_parameter():
    url = "https://login.example/t/oauth2/v2.0/authorize?client_id=c&state=old&scope=a+b"
    replaced = parse_qs(urlsplit(with_state(url, "new-state")).query)
    assert replaced == {"client_id": ["c"], "scope": ["a b"], "state": ["new-state"]}


def test_callback_errors_are_shortened_without_trace_ids():
    assert callback_error({"code": "x"}) is None
    error = callback_error({"error": "access_denied",
                            "error_description": "AADSTS65004: declined. Trace ID: 1 Corr"})
    assert error == "access_denied: AADSTS65004: declined."
