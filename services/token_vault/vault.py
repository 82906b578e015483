"""The vault's process-wide parts, built once at start-up and kept on the Flask app."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from services.token_vault.keys import KekSource, load_keyring
from services.token_vault.microsoft import MicrosoftIdentity
from shared.runtime import Runtime
from shared.settings import SettingsError

CLIENT_SECRET = "microsoft-client-secret"  # noqa: S105 (a secret name)
SESSION_KEY = "vault-session-key"
# Refresh when less than this is left, so a caller never gets a token about to die.
REFRESH_MARGIN_S = 300
# A connect flow (consent page and back) must finish within this.
FLOW_TTL_S = 900


@dataclass(frozen=True)
class VaultConfig:
    client_id: str
    public_url: str                       # the vault's external base URL (redirect URIs)
    ca_bundle: str | None = None          # local simulator only: its TLS certificate
    refresh_margin_s: int = REFRESH_MARGIN_S
    flow_ttl_s: int = FLOW_TTL_S

    @classmethod
    def from_env(cls, runtime: Runtime, env: Mapping[str, str] | None) -> VaultConfig:
        env = os.environ if env is None else env
        client_id = env.get("COAX_MICROSOFT_CLIENT_ID", "").strip()
        problems = [] if client_id else ["COAX_MICROSOFT_CLIENT_ID is required (the Entra app)"]
        public_url = (runtime.settings.public_base_url
                      or (f"http://127.0.0.1:{runtime.service.port}"
                          if runtime.settings.environment == "local" else ""))
        if not public_url:
            problems.append("COAX_PUBLIC_URL is required in the cloud (OAuth redirect URIs)")
        ca_bundle = env.get("COAX_AUTHORITY_CA_BUNDLE") or None
        if ca_bundle and runtime.settings.on_cloud_run:
            problems.append("COAX_AUTHORITY_CA_BUNDLE is for the local simulator only")
        if problems:
            raise SettingsError(problems)
        return cls(client_id=client_id, public_url=public_url.rstrip("/"), ca_bundle=ca_bundle)

    def redirect_uri(self, flow: str) -> str:
        return f"{self.public_url}/connect/{flow}/callback"


@dataclass
class Vault:
    runtime: Runtime
    config: VaultConfig
    keys: KekSource
    identity: MicrosoftIdentity
    session_key: bytes = field(repr=False)

    @property
    def callers(self) -> dict[str, tuple[str, ...]]:
        return self.runtime.service.callers

    @property
    def actor(self) -> str:
        return self.runtime.service.name


def build_vault(runtime: Runtime, env: Mapping[str, str] | None = None,
                http_session: requests.Session | None = None) -> Vault:
    config = VaultConfig.from_env(runtime, env)
    secrets = runtime.secrets
    session = http_session or requests.Session()
    if config.ca_bundle and http_session is None:
        session.verify = config.ca_bundle
    keys = KekSource(lambda: load_keyring(secrets))
    keys.ring()  # fail at start-up, not on the first request, if the KEK is unusable
    session_key = base64.b64decode(secrets.access(SESSION_KEY).reveal().strip())
    identity = MicrosoftIdentity(
        config.client_id, lambda: secrets.access(CLIENT_SECRET).reveal_text(),
        runtime.settings.authority_base_url, session)
    return Vault(runtime=runtime, config=config, keys=keys, identity=identity,
                 session_key=session_key)
