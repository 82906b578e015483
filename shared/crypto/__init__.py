"""Token and session cryptography: A256CBC-HS512 AEAD, envelope encryption, sealed sessions.

Pure functions over bytes given by the caller; nothing here reads a secret or does I/O.
"""

from shared.crypto.aead import DecryptionError, InvalidKeyError, Sealed, decrypt, encrypt
from shared.crypto.envelope import (
    EnvelopeError,
    KeyRing,
    RecordContext,
    RecordShredded,
    SealedRecord,
    UnknownKeyVersion,
    open_record,
    rewrap,
    seal_record,
)
from shared.crypto.session import SessionExpired, SessionInvalid, open_session, seal_session

__all__ = [
    "DecryptionError",
    "EnvelopeError",
    "InvalidKeyError",
    "KeyRing",
    "RecordContext",
    "RecordShredded",
    "Sealed",
    "SealedRecord",
    "SessionExpired",
    "SessionInvalid",
    "UnknownKeyVersion",
    "decrypt",
    "encrypt",
    "open_record",
    "open_session",
    "rewrap",
    "seal_record",
    "seal_session",
]
