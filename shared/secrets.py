"""Secrets: one interface, two stores, and a per-service allowlist.

A service only ever gets a `ScopedSecrets`, which refuses any secret the
topology does not assign to it; the refusal is audited. Values travel as
`SecretValue`, which never shows itself in repr, str, logs or exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from shared.topology import Topology


class SecretError(RuntimeError):
    pass


class SecretNotFound(SecretError):
    pass


class SecretAccessDenied(SecretError):
    pass


class SecretValue:
    """Holds a secret's bytes; prints as a placeholder, never as the value."""

    __slots__ = ("_value", "name", "version")

    def __init__(self, name: str, version: str, value: bytes):
        self.name = name
        self.version = version
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def reveal_text(self) -> str:
        return self._value.decode().strip()

    def __repr__(self) -> str:
        return f"SecretValue({self.name!r}, version={self.version!r}, value=<redacted>)"

    __str__ = __repr__

    def __reduce__(self):  # no pickling a secret into a queue or a cache by accident
        raise TypeError("SecretValue cannot be pickled")


class SecretStore(Protocol):
    def access(self, name: str, version: str = "latest") -> SecretValue: ...

    def versions(self, name: str) -> list[str]: ...


class LocalSecretStore:
    """Files under a directory: `<name>` holds one value, `<name>/<version>` many.

    For the local stack and tests only; Settings refuses it on Cloud Run.
    """

    def __init__(self, root: Path):
        self.root = root

    def versions(self, name: str) -> list[str]:
        path = self.root / name
        if path.is_dir():
            return sorted((p.name for p in path.iterdir() if p.name.isdigit()), key=int)
        if path.is_file():
            return ["1"]
        raise SecretNotFound(f"secret {name!r} not found in the local store")

    def access(self, name: str, version: str = "latest") -> SecretValue:
        versions = self.versions(name)
        chosen = versions[-1] if version == "latest" else version
        if chosen not in versions:
            raise SecretNotFound(f"secret {name!r} has no version {version!r}")
        path = self.root / name
        file = path / chosen if path.is_dir() else path
        return SecretValue(name, chosen, file.read_bytes())


class SecretManagerStore:
    """Google Secret Manager; the client is passed in (built at start-up)."""

    def __init__(self, client, project: str):
        self.client = client
        self.project = project

    def versions(self, name: str) -> list[str]:
        parent = f"projects/{self.project}/secrets/{name}"
        found = [
            v.name.rsplit("/", 1)[-1]
            for v in self.client.list_secret_versions(request={"parent": parent})
            if v.state.name == "ENABLED"
        ]
        return sorted(found, key=int)

    def access(self, name: str, version: str = "latest") -> SecretValue:
        path = f"projects/{self.project}/secrets/{name}/versions/{version}"
        try:
            response = self.client.access_secret_version(request={"name": path})
        except Exception as exc:  # the client raises many google.api_core types
            raise SecretError(f"cannot access secret {name!r} version {version!r}: "
                              f"{type(exc).__name__}") from None
        actual = response.name.rsplit("/", 1)[-1]
        return SecretValue(name, actual, response.payload.data)


AuditSink = Callable[[str, str, dict], None]   # (action, target, details)


class ScopedSecrets:
    """The only way a service reads secrets: its topology allowlist is enforced."""

    def __init__(self, store: SecretStore, service: str, topology: Topology,
                 audit: AuditSink | None = None):
        self._store = store
        self.service = service
        self._allowed = frozenset(topology.service(service).secrets)
        self._audit = audit

    def _check(self, name: str) -> None:
        if name not in self._allowed:
            if self._audit is not None:
                self._audit("secret.access_denied", name, {"service": self.service})
            raise SecretAccessDenied(f"service {self.service!r} may not read secret {name!r}")

    def access(self, name: str, version: str = "latest") -> SecretValue:
        self._check(name)
        return self._store.access(name, version)

    def versions(self, name: str) -> list[str]:
        self._check(name)
        return self._store.versions(name)


def build_store(secrets_dir: Path | None, project: str) -> SecretStore:
    if secrets_dir is not None:
        return LocalSecretStore(secrets_dir)
    from google.cloud import secretmanager  # only the cloud path needs the client library

    return SecretManagerStore(secretmanager.SecretManagerServiceClient(), project)
