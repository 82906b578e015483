"""Envelope encryption of token records: binding, rotation, shredding, key hygiene."""

import copy
import dataclasses
import pickle
import uuid

import pytest

from shared.crypto import aead, envelope
from shared.crypto.envelope import (
    KeyRing,
    RecordContext,
    RecordShredded,
    SealedRecord,
    UnknownKeyVersion,
    open_record,
    rewrap,
    seal_record,
)

KEK_1 = bytes(range(64))
KEK_2 = bytes(range(64, 128))
TOKEN = b"0.AXEA-refresh-token-" + bytes(range(256)) * 4
CONTEXT = RecordContext(org_id="org-a", connection_id="conn-1", kind="refresh_token")


def ring(*versions: int) -> KeyRing:
    material = {1: KEK_1, 2: KEK_2, 3: bytes(range(128, 192))}
    return KeyRing({v: material[v] for v in versions})


def test_round_trip():
    keyring = ring(1)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    assert sealed.kek_version == 1
    assert TOKEN not in sealed.ciphertext
    assert open_record(keyring, sealed, CONTEXT) == TOKEN


def test_every_record_gets_its_own_data_key():
    keyring = ring(1)
    first, second = seal_record(keyring, TOKEN, CONTEXT), seal_record(keyring, TOKEN, CONTEXT)
    assert first.wrapped_dek != second.wrapped_dek
    assert first.ciphertext != second.ciphertext
    # Unwrapping both shows distinct DEKs, not merely distinct IVs.
    deks = {
        aead.decrypt(KEK_1, record.wrapped_dek, envelope._wrap_aad(CONTEXT, 1))
        for record in (first, second)
    }
    assert len(deks) == 2


def test_tampering_with_any_byte_fails():
    keyring = ring(1)
    sealed = seal_record(keyring, b"short-token", CONTEXT)
    for field in ("wrapped_dek", "ciphertext"):
        original = getattr(sealed, field)
        for position in range(len(original)):
            tampered = bytearray(original)
            tampered[position] ^= 0x80
            forged = dataclasses.replace(sealed, **{field: bytes(tampered)})
            with pytest.raises(aead.DecryptionError):
                open_record(keyring, forged, CONTEXT)


def test_truncation_fails():
    keyring = ring(1)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    for field in ("wrapped_dek", "ciphertext"):
        original = getattr(sealed, field)
        for length in (1, 17, len(original) - 32, len(original) - 16, len(original) - 1):
            cut = dataclasses.replace(sealed, **{field: original[:length]})
            with pytest.raises(aead.DecryptionError):
                open_record(keyring, cut, CONTEXT)


def test_relabelling_the_kek_version_fails():
    keyring = ring(1, 2)
    sealed = rewrap(keyring, seal_record(keyring, TOKEN, CONTEXT), CONTEXT, to_version=1)
    relabelled = dataclasses.replace(sealed, kek_version=2)
    with pytest.raises(aead.DecryptionError):
        open_record(keyring, relabelled, CONTEXT)


def test_kek_version_is_bound_even_when_two_versions_share_key_bytes():
    # Only the AAD can tell these apart: a mistaken rotation that reused the bytes.
    keyring = KeyRing({1: KEK_1, 2: KEK_1}, current_version=1)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    with pytest.raises(aead.DecryptionError):
        open_record(keyring, dataclasses.replace(sealed, kek_version=2), CONTEXT)


@pytest.mark.parametrize(
    "elsewhere",
    [
        RecordContext("org-b", "conn-1", "refresh_token"),
        RecordContext("org-a", "conn-2", "refresh_token"),
        RecordContext("org-a", "conn-1", "access_token"),
        # Same characters, split differently: the encoding must keep fields apart.
        RecordContext("org-ac", "onn-1", "refresh_token"),
    ],
)
def test_a_record_does_not_open_in_another_place(elsewhere):
    keyring = ring(1)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    with pytest.raises(aead.DecryptionError):
        open_record(keyring, sealed, elsewhere)


def test_ciphertext_moved_under_another_records_data_key_fails():
    # An attacker copies org A's ciphertext into org B's row, keeping B's wrapped DEK.
    keyring = ring(1)
    other = RecordContext("org-b", "conn-9", "refresh_token")
    victim = seal_record(keyring, TOKEN, CONTEXT)
    target = seal_record(keyring, b"b-token", other)
    moved = dataclasses.replace(target, ciphertext=victim.ciphertext)
    with pytest.raises(aead.DecryptionError):
        open_record(keyring, moved, other)


def test_swapping_wrapped_data_keys_between_records_fails():
    keyring = ring(1)
    first = seal_record(keyring, b"first-token", CONTEXT)
    second = seal_record(keyring, b"second-token", CONTEXT)
    swapped_first = dataclasses.replace(first, wrapped_dek=second.wrapped_dek)
    swapped_second = dataclasses.replace(second, wrapped_dek=first.wrapped_dek)
    for record in (swapped_first, swapped_second):
        with pytest.raises(aead.DecryptionError):
            open_record(keyring, record, CONTEXT)


def test_rewrap_keeps_ciphertext_and_lets_the_old_kek_retire():
    old_ring = ring(1)
    records = [seal_record(old_ring, TOKEN + bytes([i]), CONTEXT) for i in range(5)]

    rotated = old_ring.with_key(2, KEK_2)
    assert rotated.current_version == 2
    rewrapped = [rewrap(rotated, record, CONTEXT) for record in records]

    for before, after in zip(records, rewrapped, strict=True):
        assert after.kek_version == 2
        assert after.ciphertext == before.ciphertext
        assert after.wrapped_dek != before.wrapped_dek

    retired = rotated.without(1)
    assert retired.versions == (2,)
    for i, record in enumerate(rewrapped):
        assert open_record(retired, record, CONTEXT) == TOKEN + bytes([i])
    # A record the job missed is exactly what retiring too early would strand.
    with pytest.raises(UnknownKeyVersion):
        open_record(retired, records[0], CONTEXT)


def test_rewrap_to_an_explicit_version_and_to_an_unknown_one():
    keyring = ring(1, 2)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    back = rewrap(keyring, sealed, CONTEXT, to_version=1)
    assert back.kek_version == 1 and open_record(keyring, back, CONTEXT) == TOKEN
    with pytest.raises(UnknownKeyVersion):
        rewrap(keyring, sealed, CONTEXT, to_version=7)


def test_rewrap_never_decrypts_the_token(monkeypatch):
    keyring = ring(1, 2)
    sealed = seal_record(ring(1), TOKEN, CONTEXT)
    data_aad = envelope._data_aad(CONTEXT)
    real_decrypt = aead.decrypt

    def guarded(key, blob, aad=b""):
        assert aad != data_aad, "rewrap decrypted the token ciphertext"
        return real_decrypt(key, blob, aad)

    monkeypatch.setattr(aead, "decrypt", guarded)
    assert rewrap(keyring, sealed, CONTEXT).kek_version == 2


def test_rewrap_rejects_a_tampered_data_key():
    keyring = ring(1, 2)
    sealed = seal_record(keyring, TOKEN, CONTEXT)
    tampered = bytearray(sealed.wrapped_dek)
    tampered[-1] ^= 1
    with pytest.raises(aead.DecryptionError):
        rewrap(keyring, dataclasses.replace(sealed, wrapped_dek=bytes(tampered)), CONTEXT)


@pytest.mark.parametrize("missing", [None, b""])
def test_shredded_record_cannot_be_opened_or_rewrapped(missing):
    keyring = ring(1, 2)
    sealed = dataclasses.replace(seal_record(keyring, TOKEN, CONTEXT), wrapped_dek=missing)
    assert sealed.is_shredded
    with pytest.raises(RecordShredded):
        open_record(keyring, sealed, CONTEXT)
    with pytest.raises(RecordShredded):
        rewrap(keyring, sealed, CONTEXT)


def test_shredded_helper_drops_only_the_data_key():
    sealed = seal_record(ring(1), TOKEN, CONTEXT)
    shredded = sealed.shredded()
    assert shredded.wrapped_dek is None
    assert shredded.ciphertext == sealed.ciphertext
    with pytest.raises(RecordShredded):
        open_record(ring(1), shredded, CONTEXT)


@pytest.mark.parametrize("bad_key", [b"", bytes(32), bytes(63), bytes(65), "x" * 64])
def test_wrong_length_keks_are_rejected(bad_key):
    with pytest.raises(aead.InvalidKeyError):
        KeyRing({1: bad_key})
    with pytest.raises(aead.InvalidKeyError):
        ring(1).with_key(2, bad_key)


def test_key_ring_rules():
    with pytest.raises(ValueError):
        KeyRing({})
    with pytest.raises(UnknownKeyVersion):
        KeyRing({1: KEK_1}, current_version=2)
    for bad_version in (0, -1, True, "1", 1.0):
        with pytest.raises(ValueError):
            KeyRing({bad_version: KEK_1})
    keyring = ring(1, 2)
    assert keyring.current_version == 2 and keyring.versions == (1, 2)
    assert KeyRing({1: KEK_1, 2: KEK_2}, current_version=1).current_version == 1
    with pytest.raises(ValueError):
        keyring.without(2)  # the current key cannot retire
    with pytest.raises(UnknownKeyVersion):
        keyring.without(5)
    with pytest.raises(ValueError):
        keyring.with_key(1, KEK_2)  # replacing a version would strand its records
    kept = keyring.with_key(3, bytes(range(128, 192)), make_current=False)
    assert kept.current_version == 2 and 3 in kept


def test_secrets_never_show_in_repr_or_pickles():
    keyring = ring(1, 2)
    shown = repr(keyring)
    assert shown == "KeyRing(versions=[1, 2], current=2)"
    for kek in (KEK_1, KEK_2):
        assert repr(kek) not in shown and kek.hex() not in shown
    with pytest.raises(TypeError):
        pickle.dumps(keyring)
    assert copy.deepcopy(keyring) is keyring

    sealed = seal_record(keyring, TOKEN, CONTEXT)
    shown = repr(sealed)
    assert repr(sealed.wrapped_dek) not in shown and repr(sealed.ciphertext) not in shown
    assert "kek_version=2" in shown


def test_context_validation_and_uuid_equivalence():
    org, conn = uuid.uuid4(), uuid.uuid4()
    keyring = ring(1)
    sealed = seal_record(keyring, TOKEN, RecordContext(org, conn, "refresh_token"))
    assert open_record(keyring, sealed, RecordContext(str(org), str(conn), "refresh_token"))
    for bad in [("", "c", "k"), ("o", None, "k"), ("o", "c", 3)]:
        with pytest.raises(ValueError):
            RecordContext(*bad)


def test_non_record_input_is_a_type_error():
    with pytest.raises(TypeError):
        open_record(ring(1), b"raw bytes", CONTEXT)


def test_sealed_record_exposes_plain_bytes_fields():
    sealed = seal_record(ring(1), TOKEN, CONTEXT)
    assert isinstance(sealed, SealedRecord)
    assert isinstance(sealed.wrapped_dek, bytes) and isinstance(sealed.ciphertext, bytes)
    # 1 version byte + 16 IV + 80 (64-byte DEK padded) + 32 tag.
    assert len(sealed.wrapped_dek) == 129
