"""Envelope encryption for token records.

Each record gets its own random data key (DEK). The DEK encrypts the record; the
current key-encryption key (KEK) wraps the DEK. Both layers use A256CBC-HS512 (`aead`).

What the AAD binds, and why:
- the record ciphertext: organization, connection and record kind, so a ciphertext
  copied to another row fails. It does not include the KEK version, because key
  rotation must leave the ciphertext byte-identical;
- the wrapped DEK: the same context plus the KEK version, so a wrapped DEK cannot be
  moved to another row or relabelled with another KEK version.

Rotation re-wraps only the DEK (`rewrap`), never touching the token ciphertext.
Crypto-shredding is deleting the wrapped DEK: without it the ciphertext, and every
backup of it, is noise.

This module never reads secrets: the caller (the vault) hands the KEK bytes to `KeyRing`.
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

from shared.crypto import aead

DEK_SIZE = aead.KEY_SIZE
_DATA_LABEL = b"coax/token-record/data/v1"
_WRAP_LABEL = b"coax/token-record/dek/v1"


class EnvelopeError(Exception):
    """Base class of envelope failures that are not plain decryption failures."""


class RecordShredded(EnvelopeError):
    """The record's wrapped data key was deleted; its contents are gone for good."""

    def __init__(self) -> None:
        super().__init__("record was crypto-shredded")


class UnknownKeyVersion(EnvelopeError, LookupError):
    """The key ring holds no key-encryption key with the requested version."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no key-encryption key with version {version}")
        self.version = version


class KeyRing:
    """Versioned key-encryption keys, one of them current. Immutable.

    Its repr lists versions only; the key bytes are never shown.
    """

    __slots__ = ("_keys", "_current")

    def __init__(self, keys: Mapping[int, bytes], current_version: int | None = None) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        checked = {}
        for version, key in keys.items():
            _check_version(version)
            try:
                checked[version] = aead.check_key(key)
            except aead.InvalidKeyError as error:
                raise aead.InvalidKeyError(f"KEK version {version}: {error}") from None
        if current_version is None:
            current_version = max(checked)
        if current_version not in checked:
            raise UnknownKeyVersion(current_version)
        self._keys: dict[int, bytes] = checked
        self._current = current_version

    @property
    def current_version(self) -> int:
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys))

    def __contains__(self, version: object) -> bool:
        return version in self._keys

    def with_key(self, version: int, key: bytes, make_current: bool = True) -> KeyRing:
        """A new ring with `key` added under a new `version`.

        An existing version is never replaced: records wrapped by it would stop opening.
        """
        if version in self._keys:
            raise ValueError(f"KEK version {version} already exists")
        keys = {**self._keys, version: key}
        return KeyRing(keys, version if make_current else self._current)

    def without(self, version: int) -> KeyRing:
        """A new ring with `version` retired.

        Only retire a version once no stored record refers to it (`rewrap` them first);
        the ring cannot know that, the caller's table can.
        """
        if version not in self._keys:
            raise UnknownKeyVersion(version)
        if version == self._current:
            raise ValueError("cannot retire the current key-encryption key")
        return KeyRing({v: k for v, k in self._keys.items() if v != version}, self._current)

    def _key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise UnknownKeyVersion(version) from None

    def __repr__(self) -> str:
        return f"KeyRing(versions={list(self.versions)}, current={self._current})"

    def __reduce__(self):
        # Keeps key bytes out of pickles, e.g. a task queue serializing arguments.
        raise TypeError("KeyRing holds secrets and cannot be pickled")

    def __copy__(self) -> KeyRing:
        return self  # immutable, so a copy may be the same object

    def __deepcopy__(self, memo: dict) -> KeyRing:
        return self


@dataclass(frozen=True, slots=True)
class RecordContext:
    """Where a record lives; its ciphertext only opens in this exact place."""

    org_id: str | uuid.UUID
    connection_id: str | uuid.UUID
    kind: str

    def __post_init__(self) -> None:
        self._fields()  # reject empty or mistyped fields when the context is built

    def _fields(self) -> tuple[bytes, bytes, bytes]:
        return tuple(
            _text_field(name, getattr(self, name)) for name in ("org_id", "connection_id", "kind")
        )


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """What is stored: KEK version, wrapped DEK (None once shredded), ciphertext."""

    kek_version: int
    wrapped_dek: bytes | None
    ciphertext: bytes

    @property
    def is_shredded(self) -> bool:
        return not self.wrapped_dek

    def shredded(self) -> SealedRecord:
        """The same record with its data key deleted."""
        return replace(self, wrapped_dek=None)

    def __repr__(self) -> str:
        state = "shredded" if self.is_shredded else "sealed"
        return (
            f"SealedRecord(kek_version={self.kek_version}, {state}, "
            f"ciphertext_length={len(self.ciphertext)})"
        )


def seal_record(keyring: KeyRing, plaintext: bytes, context: RecordContext) -> SealedRecord:
    """Encrypt `plaintext` under a fresh data key wrapped by the current KEK."""
    data_key = os.urandom(DEK_SIZE)
    ciphertext = aead.encrypt(data_key, plaintext, _data_aad(context)).to_bytes()
    version = keyring.current_version
    return SealedRecord(
        kek_version=version,
        wrapped_dek=_wrap(keyring, version, data_key, context),
        ciphertext=ciphertext,
    )


def open_record(keyring: KeyRing, sealed: SealedRecord, context: RecordContext) -> bytes:
    """Decrypt a record sealed for `context`.

    Raises `RecordShredded`, `UnknownKeyVersion` or `aead.DecryptionError`.
    """
    data_key = _unwrap(keyring, sealed, context)
    return aead.decrypt(data_key, sealed.ciphertext, _data_aad(context))


def rewrap(
    keyring: KeyRing,
    sealed: SealedRecord,
    context: RecordContext,
    to_version: int | None = None,
) -> SealedRecord:
    """Re-wrap the record's data key with `to_version` (default: the current KEK).

    The ciphertext is returned byte-identical and the token is never decrypted.
    """
    target = keyring.current_version if to_version is None else to_version
    data_key = _unwrap(keyring, sealed, context)
    return replace(
        sealed,
        kek_version=target,
        wrapped_dek=_wrap(keyring, target, data_key, context),
    )


def _wrap(keyring: KeyRing, version: int, data_key: bytes, context: RecordContext) -> bytes:
    kek = keyring._key(version)
    return aead.encrypt(kek, data_key, _wrap_aad(context, version)).to_bytes()


def _unwrap(keyring: KeyRing, sealed: SealedRecord, context: RecordContext) -> bytes:
    if not isinstance(sealed, SealedRecord):
        raise TypeError(f"expected SealedRecord, not {type(sealed).__name__}")
    if sealed.is_shredded:
        raise RecordShredded()
    _check_version(sealed.kek_version)
    kek = keyring._key(sealed.kek_version)
    data_key = aead.decrypt(kek, sealed.wrapped_dek, _wrap_aad(context, sealed.kek_version))
    if len(data_key) != DEK_SIZE:
        raise aead.DecryptionError()
    return data_key


def _data_aad(context: RecordContext) -> bytes:
    return _length_prefixed(_DATA_LABEL, *context._fields())


def _wrap_aad(context: RecordContext, kek_version: int) -> bytes:
    return _length_prefixed(_WRAP_LABEL, *context._fields(), struct.pack(">Q", kek_version))


def _length_prefixed(*parts: bytes) -> bytes:
    # Each part carries its own length, so ("ab", "c") and ("a", "bc") never collide.
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _text_field(name: str, value: object) -> bytes:
    if isinstance(value, uuid.UUID):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"RecordContext.{name} must be a non-empty string or UUID")
    return value.encode("utf-8")


def _check_version(version: object) -> None:
    # bool is an int subclass; True as a key version is certainly a bug.
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**63:
        raise ValueError(f"KEK version must be a positive integer, got {version!r}")
