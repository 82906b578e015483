"""shared.vault_client against a scripted HTTP endpoint standing in for the vault."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from shared.vault_client import (
    ConnectionNeedsConsentError,
    VaultRefused,
    VaultTokenProvider,
    VaultUnavailable,
)

CONNECTION = "6f1c1f52-0000-4000-8000-000000000001"


class ScriptedVault:
    def __init__(self):
        self.answers: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        app = Flask("scripted-vault")

        @app.post("/v1/access-token")
        def access_token():
            self.requests.append({"headers": dict(request.headers),
                                  "body": request.get_json()})
            status, body = self.answers.pop(0)
            return jsonify(body), status

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self):
        self._server.shutdown()


@pytest.fixture(scope="module")
def scripted_vault():
    scripted = ScriptedVault()
    yield scripted
    scripted.stop()


@pytest.fixture()
def vault(scripted_vault):
    scripted_vault.answers.clear()
    scripted_vault.requests.clear()
    return scripted_vault


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_token_is_cached_until_shortly_before_it_expires(vault):
    clock = Clock()
    vault.answers += [(200, {"access_token": "t1", "expires_in": 600}),
                      (200, {"access_token": "t2", "expires_in": 600})]
    provider = VaultTokenProvider(vault.url, CONNECTION, "directory", caller="ingest",
                                  clock=clock)
    assert provider() == "t1"
    clock.now += 500
    assert provider() == "t1" and len(vault.requests) == 1
    clock.now += 50   # within the last minute of its life: ask again
    assert provider() == "t2"
    assert vault.requests[0]["body"] == {"connection_id": CONNECTION, "purpose": "directory"}
    assert vault.requests[0]["headers"]["X-Coax-Local-Caller"] == "ingest"


def test_invalidate_forces_a_new_handout(vault):
    vault.answers += [(200, {"access_token": "t1", "expires_in": 600}),
                      (200, {"access_token": "t2", "expires_in": 600})]
    provider = VaultTokenProvider(vault.url, CONNECTION, "directory", caller="ingest")
    assert provider() == "t1"
    provider.invalidate()
    assert provider() == "t2"


def test_in_the_cloud_an_id_token_for_the_vault_is_sent(vault):
    class IdTokens:   # stands in for Google's metadata server
        def token(self, audience):
            return f"id-token-for-{audience}"

    vault.answers.append((200, {"access_token": "t1", "expires_in": 600}))
    VaultTokenProvider(vault.url, CONNECTION, "sign_ins", caller="ingest",
                       id_token_source=IdTokens())()
    headers = vault.requests[0]["headers"]
    assert headers["Authorization"] == f"Bearer id-token-for-{vault.url}"
    assert "X-Coax-Local-Caller" not in headers


@pytest.mark.parametrize("status, code, error", [
    (409, "needs_consent", ConnectionNeedsConsentError),
    (409, "not_connected", ConnectionNeedsConsentError),
    (410, "shredded", ConnectionNeedsConsentError),
    (403, "purpose_not_allowed", VaultRefused),
    (404, "unknown_connection", VaultRefused),
    (503, "microsoft_unavailable", VaultUnavailable),
    (500, "stored_token_unreadable", VaultUnavailable),
])
def test_refusals_are_typed(vault, status, code, error):
    vault.answers.append((status, {"error": code, "detail": "why"}))
    with pytest.raises(error) as raised:
        VaultTokenProvider(vault.url, CONNECTION, "directory", caller="ingest")()
    if isinstance(raised.value, VaultRefused):
        assert (raised.value.status, raised.value.code) == (status, code)


def test_an_unreachable_vault_is_unavailable():
    provider = VaultTokenProvider("http://127.0.0.1:9", CONNECTION, "directory", caller="ingest")
    with pytest.raises(VaultUnavailable):
        provider()


def test_an_answer_without_a_token_is_not_trusted(vault):
    vault.answers.append((200, {"expires_in": 600}))
    with pytest.raises(VaultUnavailable):
        VaultTokenProvider(vault.url, CONNECTION, "directory", caller="ingest")()
