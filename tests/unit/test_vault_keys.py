"""KEK versions from the secret store; records bound to their generation."""

from __future__ import annotations

import base64
import os

import pytest

from services.token_vault.keys import (
    KekSource,
    KeyConfigError,
    add_kek_version,
    decode_kek,
    disable_kek_version,
    load_keyring,
)
from services.token_vault.records import record_context
from shared.crypto import DecryptionError, KeyRing, open_record, seal_record
from shared.secrets import LocalSecretStore, ScopedSecrets
from shared.topology import load_topology


def _vault_secrets(root) -> tuple[LocalSecretStore, ScopedSecrets]:
    store = LocalSecretStore(root)
    return store, ScopedSecrets(store, "token-vault", load_topology())


def test_rotation_adds_the_next_version_and_it_becomes_current(tmp_path):
    store, secrets = _vault_secrets(tmp_path)
    assert [add_kek_version(store) for _ in range(3)] == ["1", "2", "3"]
    ring = load_keyring(secrets)
    assert (ring.versions, ring.current_version) == ((1, 2, 3), 3)


def test_a_retired_version_is_gone_from_the_ring_and_never_reused(tmp_path):
    store, secrets = _vault_secrets(tmp_path)
    add_kek_version(store)
    add_kek_version(store)
    disable_kek_version(store, "1")
    assert load_keyring(secrets).versions == (2,)
    assert add_kek_version(store) == "3"
    with pytest.raises(KeyConfigError):
        disable_kek_version(store, "1")


@pytest.mark.parametrize("raw", [b"not base64!", base64.b64encode(os.urandom(32))])
def test_malformed_keks_are_configuration_errors(raw):
    with pytest.raises(KeyConfigError):
        decode_kek("7", raw)


def test_the_key_source_reloads_after_a_while_or_for_an_unknown_version():
    loads = []
    now = [0.0]

    def loader():
        loads.append(1)
        return KeyRing({v: os.urandom(64) for v in range(1, len(loads) + 1)})

    source = KekSource(loader, reload_after_s=60, clock=lambda: now[0])
    assert source.ring().versions == (1,)
    assert source.ring().versions == (1,) and len(loads) == 1
    assert source.ring_with(2).versions == (1, 2)     # met a newer record: reload at once
    now[0] = 61
    assert source.ring().versions == (1, 2, 3)


def test_an_older_generation_does_not_open_in_its_row():
    ring = KeyRing({1: os.urandom(64)})
    first = seal_record(ring, b"token-a", record_context("o", "c", "refresh_token", 1))
    assert open_record(ring, first, record_context("o", "c", "refresh_token", 1)) == b"token-a"
    with pytest.raises(DecryptionError):
        open_record(ring, first, record_context("o", "c", "refresh_token", 2))
    with pytest.raises(DecryptionError):
        open_record(ring, first, record_context("o", "c", "access_token:default", 1))
