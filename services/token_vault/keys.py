"""Key-encryption keys: loaded from the secret `token-kek` (one version per KEK version).

Every version of the secret is 64 random bytes, base64-encoded. The newest enabled
version is the current KEK: it wraps new data keys; older versions only unwrap until
the rewrap job has moved their records on and an operator retires them.

A running vault re-reads the versions after `RELOAD_AFTER_S`, and at once when it meets
a record wrapped by a version it does not know yet (another instance rotated first).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections.abc import Callable

from shared.crypto import KeyRing
from shared.secrets import LocalSecretStore, ScopedSecrets, SecretManagerStore, SecretStore

KEK_SECRET = "token-kek"  # noqa: S105 (a secret name, not a value)
KEK_SIZE = 64
RELOAD_AFTER_S = 60.0


class KeyConfigError(RuntimeError):
    """A KEK version is malformed or the store cannot be changed; an operator must act."""


def decode_kek(version: str, raw: bytes) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{KEK_SECRET} version {version} is not base64") from None
    if len(key) != KEK_SIZE:
        raise KeyConfigError(f"{KEK_SECRET} version {version} must hold {KEK_SIZE} bytes")
    return key


def load_keyring(secrets: ScopedSecrets) -> KeyRing:
    versions = secrets.versions(KEK_SECRET)
    if not versions:
        raise KeyConfigError(f"secret {KEK_SECRET} has no enabled version")
    keys = {int(v): decode_kek(v, secrets.access(KEK_SECRET, v).reveal()) for v in versions}
    return KeyRing(keys, current_version=max(keys))


class KekSource:
    """The process's key ring, re-read now and then; thread-safe, never a module global."""

    def __init__(self, loader: Callable[[], KeyRing], reload_after_s: float = RELOAD_AFTER_S,
                 clock: Callable[[], float] = time.monotonic):
        self._loader = loader
        self._reload_after_s = reload_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0

    def ring(self) -> KeyRing:
        with self._lock:
            if self._ring is None or self._clock() - self._loaded_at > self._reload_after_s:
                self._reload_locked()
            return self._ring

    def ring_with(self, version: int) -> KeyRing:
        """A ring that knows `version` if the store has it (reloads once if needed)."""
        ring = self.ring()
        if version in ring:
            return ring
        with self._lock:
            self._reload_locked()
            return self._ring

    def reload(self) -> KeyRing:
        with self._lock:
            self._reload_locked()
            return self._ring

    def _reload_locked(self) -> None:
        self._ring = self._loader()
        self._loaded_at = self._clock()


def new_kek_value() -> bytes:
    return base64.b64encode(os.urandom(KEK_SIZE))


def add_kek_version(store: SecretStore) -> str:
    """Write a fresh random KEK as the next version of the secret; returns the version."""
    value = new_kek_value()
    if isinstance(store, LocalSecretStore):
        folder = store.root / KEK_SECRET
        folder.mkdir(parents=True, exist_ok=True)
        existing = [int(v) for v in store.versions(KEK_SECRET)]
        retired = [int(p.name.split(".")[0]) for p in folder.glob("*.retired")]
        version = str(max(existing + retired, default=0) + 1)
        path = folder / version
        # O_EXCL: two operators rotating at once cannot overwrite each other's key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(value)
        return version
    if isinstance(store, SecretManagerStore):
        parent = f"projects/{store.project}/secrets/{KEK_SECRET}"
        created = store.client.add_secret_version(
            request={"parent": parent, "payload": {"data": value}})
        return created.name.rsplit("/", 1)[-1]
    raise KeyConfigError(f"cannot add a version to a {type(store).__name__}")


def disable_kek_version(store: SecretStore, version: str) -> None:
    """Retire a version: disabled in Secret Manager; renamed `<n>.retired` locally."""
    if isinstance(store, LocalSecretStore):
        path = store.root / KEK_SECRET / version
        if not path.is_file():
            raise KeyConfigError(f"{KEK_SECRET} has no version {version}")
        path.rename(path.with_name(f"{version}.retired"))
        return
    if isinstance(store, SecretManagerStore):
        name = f"projects/{store.project}/secrets/{KEK_SECRET}/versions/{version}"
        store.client.disable_secret_version(request={"name": name})
        return
    raise KeyConfigError(f"cannot retire a version in a {type(store).__name__}")
