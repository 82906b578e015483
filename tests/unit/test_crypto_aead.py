"""A256CBC-HS512 (RFC 7518 section 5.2): known answer, round trips, rejection of forgeries."""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.crypto import aead
from shared.crypto.aead import DecryptionError, InvalidKeyError, Sealed, decrypt, encrypt

# RFC 7518 Appendix B.3 (AES_256_CBC_HMAC_SHA_512), typed from the RFC.
RFC_K = bytes(range(64))
RFC_P = (
    b"A cipher system must not be required to be secret, and it must be able to fall "
    b"into the hands of the enemy without inconvenience"
)
RFC_IV = bytes.fromhex("1af38c2dc2b96ffdd86694092341bc04")
RFC_A = b"The second principle of Auguste Kerckhoffs"
RFC_E = bytes.fromhex(
    "4affaaadb78c31c5da4b1b590d10ffbd3dd8d5d302423526912da037ecbcc7bd"
    "822c301dd67c373bccb584ad3e9279c2e6d12a1374b77f077553df829410446b"
    "36ebd97066296ae6427ea75c2e0846a11a09ccf5370dc80bfecbad28c73f09b3"
    "a3b75e662a2594410ae496b2e2e6609e31e6e02cc837f053d21f37ff4f51950b"
    "be2638d09dd7a4930930806d0703b1f6"
)
RFC_T = bytes.fromhex("4dd3b4c088a7f45c216839645b2012bf2e6269a8c56a816dbc1b267761955bc5")

KEY = bytes(range(100, 164))


def test_rfc7518_b3_vector_encrypts_exactly():
    sealed = encrypt(RFC_K, RFC_P, RFC_A, iv=RFC_IV)
    assert sealed.iv == RFC_IV
    assert sealed.ciphertext == RFC_E
    assert sealed.tag == RFC_T


def test_rfc7518_b3_vector_decrypts():
    assert decrypt(RFC_K, Sealed(RFC_IV, RFC_E, RFC_T), RFC_A) == RFC_P


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_round_trip_through_bytes(size):
    plaintext = bytes(i % 251 for i in range(size))
    blob = encrypt(KEY, plaintext, b"context").to_bytes()
    assert blob[0] == aead.FORMAT_VERSION
    assert decrypt(KEY, blob, b"context") == plaintext
    assert decrypt(KEY, Sealed.from_bytes(blob), b"context") == plaintext


def test_fresh_iv_each_time():
    first, second = encrypt(KEY, b"same", b""), encrypt(KEY, b"same", b"")
    assert first.iv != second.iv
    assert first.ciphertext != second.ciphertext


def test_every_byte_of_the_serialized_form_is_protected():
    blob = encrypt(KEY, b"refresh-token-value", b"aad").to_bytes()
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(KEY, bytes(tampered), b"aad")


def test_truncated_or_extended_forms_fail():
    blob = encrypt(KEY, b"x" * 40, b"aad").to_bytes()
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt(KEY, blob[:length], b"aad")
    with pytest.raises(DecryptionError):
        decrypt(KEY, blob + b"\x00", b"aad")


def test_wrong_aad_or_key_fails():
    sealed = encrypt(KEY, b"secret", b"org-1")
    with pytest.raises(DecryptionError):
        decrypt(KEY, sealed, b"org-2")
    with pytest.raises(DecryptionError):
        decrypt(bytes(64), sealed, b"org-1")


def test_bad_padding_behind_a_valid_tag_gives_the_same_opaque_error():
    # Build an authentic message whose plaintext is not PKCS#7-padded: only someone
    # with the key can do this, but the error must still match a bad tag exactly.
    enc_key = KEY[32:]
    iv = bytes(16)
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(b"\x00" * 16) + encryptor.finalize()
    forged = Sealed(iv, ciphertext, aead._tag(KEY[:32], b"", iv, ciphertext))

    with pytest.raises(DecryptionError) as padding_failure:
        decrypt(KEY, forged, b"")
    with pytest.raises(DecryptionError) as tag_failure:
        decrypt(KEY, Sealed(iv, ciphertext, bytes(32)), b"")
    assert str(padding_failure.value) == str(tag_failure.value) == "decryption failed"
    assert padding_failure.value.__cause__ is None
    assert padding_failure.value.__suppress_context__


def test_tag_is_checked_before_any_decryption(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("decrypted before the tag was verified")

    monkeypatch.setattr(aead, "_decrypt_cbc", must_not_run)
    sealed = encrypt(KEY, b"secret", b"")
    with pytest.raises(DecryptionError):
        decrypt(KEY, Sealed(sealed.iv, sealed.ciphertext, bytes(32)), b"")


@pytest.mark.parametrize("bad_key", [b"", bytes(32), bytes(63), bytes(65), "k" * 64, None])
def test_wrong_keys_are_rejected_with_a_typed_error(bad_key):
    with pytest.raises(InvalidKeyError):
        encrypt(bad_key, b"x", b"")
    with pytest.raises(InvalidKeyError):
        decrypt(bad_key, encrypt(KEY, b"x", b""), b"")


def test_malformed_inputs_are_typed_errors():
    with pytest.raises(TypeError):
        encrypt(KEY, "text", b"")
    with pytest.raises(TypeError):
        encrypt(KEY, b"x", "aad")
    with pytest.raises(ValueError):
        encrypt(KEY, b"x", b"", iv=bytes(8))
    with pytest.raises(DecryptionError):
        decrypt(KEY, "not bytes", b"")


def test_repr_hides_contents():
    sealed = encrypt(KEY, b"x", b"")
    shown = repr(sealed)
    for part in (sealed.iv, sealed.ciphertext, sealed.tag):
        assert repr(part) not in shown and part.hex() not in shown
    assert "ciphertext_length=16" in shown
