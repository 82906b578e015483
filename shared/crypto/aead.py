"""A256CBC-HS512: AES-256-CBC with HMAC-SHA-512, exactly as RFC 7518 section 5.2.

Encrypt-then-MAC. The 64-byte key splits into MAC_KEY (first 32 bytes) and ENC_KEY
(last 32 bytes). The tag is the first 32 bytes of
HMAC-SHA-512(MAC_KEY, AAD || IV || ciphertext || AL), AL being the bit length of the
AAD as a 64-bit big-endian integer.

Decryption checks the tag in constant time before it touches the cipher, and every
failure raises the same bare `DecryptionError`: a caller (or an attacker watching
one) cannot tell a bad tag from bad padding, so there is no padding oracle.
"""

from __future__ import annotations

import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC

KEY_SIZE = 64
IV_SIZE = 16
TAG_SIZE = 32
BLOCK_SIZE = 16
# First byte of the serialized form, so the layout can change without guessing.
FORMAT_VERSION = 1
_HALF_KEY = KEY_SIZE // 2
_MIN_SERIALIZED = 1 + IV_SIZE + BLOCK_SIZE + TAG_SIZE


class DecryptionError(Exception):
    """Authentication or decryption failed. Deliberately says nothing more."""

    def __init__(self) -> None:
        super().__init__("decryption failed")


class InvalidKeyError(ValueError):
    """A key of the wrong type or length was supplied (a configuration error)."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """One encrypted message: IV, ciphertext (PKCS#7-padded AES-CBC) and tag."""

    iv: bytes
    ciphertext: bytes
    tag: bytes

    def to_bytes(self) -> bytes:
        """Compact form: version byte | iv | ciphertext | tag."""
        return bytes([FORMAT_VERSION]) + self.iv + self.ciphertext + self.tag

    @classmethod
    def from_bytes(cls, data: bytes) -> Sealed:
        """Parse `to_bytes` output; anything malformed is a `DecryptionError`."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecryptionError()
        data = bytes(data)
        body_length = len(data) - 1 - IV_SIZE - TAG_SIZE
        if (
            len(data) < _MIN_SERIALIZED
            or data[0] != FORMAT_VERSION
            or body_length % BLOCK_SIZE != 0
        ):
            raise DecryptionError()
        iv_end = 1 + IV_SIZE
        return cls(iv=data[1:iv_end], ciphertext=data[iv_end:-TAG_SIZE], tag=data[-TAG_SIZE:])

    def __repr__(self) -> str:
        return f"Sealed(ciphertext_length={len(self.ciphertext)})"


def check_key(key: bytes) -> bytes:
    """Return `key` as bytes if it is a 64-byte key, else raise `InvalidKeyError`."""
    if not isinstance(key, bytes | bytearray):
        raise InvalidKeyError(f"key must be bytes, not {type(key).__name__}")
    if len(key) != KEY_SIZE:
        raise InvalidKeyError(f"key must be {KEY_SIZE} bytes, got {len(key)}")
    return bytes(key)


def encrypt(key: bytes, plaintext: bytes, aad: bytes = b"", iv: bytes | None = None) -> Sealed:
    """Encrypt and authenticate `plaintext`, binding it to `aad`.

    `iv` exists for known-answer tests only; leave it out so a fresh random IV is used.
    """
    key = check_key(key)
    _require_bytes("plaintext", plaintext)
    _require_bytes("aad", aad)
    if iv is None:
        iv = os.urandom(IV_SIZE)
    elif not isinstance(iv, bytes) or len(iv) != IV_SIZE:
        raise ValueError(f"iv must be {IV_SIZE} bytes")
    mac_key, enc_key = key[:_HALF_KEY], key[_HALF_KEY:]

    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(bytes(plaintext)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return Sealed(iv=iv, ciphertext=ciphertext, tag=_tag(mac_key, bytes(aad), iv, ciphertext))


def decrypt(key: bytes, sealed: Sealed | bytes, aad: bytes = b"") -> bytes:
    """Verify and decrypt; `sealed` is a `Sealed` or its `to_bytes()` form."""
    key = check_key(key)
    _require_bytes("aad", aad)
    if not isinstance(sealed, Sealed):
        sealed = Sealed.from_bytes(sealed)
    if (
        len(sealed.iv) != IV_SIZE
        or len(sealed.tag) != TAG_SIZE
        or not sealed.ciphertext
        or len(sealed.ciphertext) % BLOCK_SIZE != 0
    ):
        raise DecryptionError()
    mac_key, enc_key = key[:_HALF_KEY], key[_HALF_KEY:]

    expected = _tag(mac_key, bytes(aad), sealed.iv, sealed.ciphertext)
    if not hmac.compare_digest(expected, sealed.tag):
        raise DecryptionError()
    return _decrypt_cbc(enc_key, sealed.iv, sealed.ciphertext)


def _decrypt_cbc(enc_key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    # Reached only with an authentic ciphertext, so bad padding here means a bug or a
    # forged tag; either way it gets the same opaque error as everything else.
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptionError() from None


def _tag(mac_key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    mac = HMAC(mac_key, hashes.SHA512())
    mac.update(aad)
    mac.update(iv)
    mac.update(ciphertext)
    mac.update(struct.pack(">Q", len(aad) * 8))
    return mac.finalize()[:TAG_SIZE]


def _require_bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes | bytearray):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
