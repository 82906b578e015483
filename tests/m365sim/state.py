"""Everything one running simulator holds: the world, its settings, keys, grants and counters."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from tests.m365sim.stats import Stats
from tests.m365sim.throttling import FaultInjector, Limiter, Limits
from tests.m365sim.tokens import SigningKey
from tests.m365sim.world import World

# The one app registration the simulated tenants consented to. Local use only: the secret is
# a simulator credential, never a Microsoft one; override it with M365SIM_CLIENT_SECRET.
DEFAULT_CLIENT_ID = "c0a0c0a0-5153-4d36-9a55-000000c0a0c0"
DEFAULT_CLIENT_SECRET = "m365sim-local-only-secret"  # noqa: S105 (simulator-only credential)
CODE_LIFETIME_S = 600


def default_client_secret() -> str:
    return os.environ.get("M365SIM_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)


@dataclass
class SimSettings:
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default_factory=default_client_secret)
    token_lifetime_s: int = 3599
    refresh_lifetime_s: int = 90 * 24 * 3600
    redirect_uris: tuple[str, ...] | None = None  # None: any redirect URI is accepted
    consented: bool = True  # tenants start with admin consent granted
    grants: dict[str, tuple[str, ...]] = field(default_factory=dict)  # tenant id -> roles
    max_filter_clauses: int = 50  # our stand-in for Exchange's filter complexity limit


@dataclass
class AuthCode:
    tenant_id: str
    user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    challenge: str | None
    challenge_method: str
    nonce: str | None
    expires_at: float


@dataclass
class RefreshGrant:
    tenant_id: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SimState:
    def __init__(self, world: World, settings: SimSettings | None = None,
                 limits: Limits | None = None):
        self.world = world
        self.settings = settings or SimSettings()
        self.key = SigningKey()
        self.stats = Stats()
        self.limiter = Limiter(limits or Limits())
        self.faults = FaultInjector()
        self.lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self.consent = {t.id: self.settings.consented for t in world.tenants}
        self.base_url = ""  # set once the server listens

    def roles_for(self, tenant_id: str) -> tuple[str, ...]:
        return self.settings.grants.get(tenant_id) or self.world.tenant(tenant_id).roles

    def app_object_id(self, tenant_id: str) -> str:
        """The service principal's object id in a tenant: stable per tenant and app."""
        raw = hashlib.sha256(f"{tenant_id}:{self.settings.client_id}".encode()).hexdigest()
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-8{raw[17:20]}-{raw[20:32]}"

    def issue_code(self, code: AuthCode) -> str:
        value = secrets.token_urlsafe(32)
        with self.lock:
            self._codes[_digest(value)] = code
        return value

    def redeem_code(self, value: str) -> AuthCode | None:
        """A code works once and only until it expires."""
        with self.lock:
            code = self._codes.pop(_digest(value), None)
        if code is None or code.expires_at < time.time():
            return None
        return code

    def issue_refresh(self, tenant_id: str, user_id: str, scopes: tuple[str, ...]) -> str:
        value = secrets.token_urlsafe(48)
        grant = RefreshGrant(tenant_id, user_id, scopes,
                             time.time() + self.settings.refresh_lifetime_s)
        with self.lock:
            self._refresh[_digest(value)] = grant
        return value

    def find_refresh(self, value: str) -> RefreshGrant | None:
        with self.lock:
            return self._refresh.get(_digest(value))

    def revoke(self, tenant_id: str, *, consent: bool, refresh_tokens: bool) -> dict:
        self.world.tenant(tenant_id)  # unknown tenants raise
        revoked = 0
        with self.lock:
            if consent:
                self.consent[tenant_id] = False
            if refresh_tokens or consent:
                for grant in self._refresh.values():
                    if grant.tenant_id == tenant_id and not grant.revoked:
                        grant.revoked = True
                        revoked += 1
        return {"tenant_id": tenant_id, "consented": self.consent[tenant_id],
                "refresh_tokens_revoked": revoked}

    def grant_consent(self, tenant_id: str) -> None:
        with self.lock:
            self.consent[tenant_id] = True

    def issuer(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}/v2.0"

    def config(self) -> dict:
        return {
            "base_url": self.base_url,
            "graph_url": f"{self.base_url}/v1.0",
            "client_id": self.settings.client_id,
            "seed": self.world.seed,
            "profile": self.world.profile.name,
            "anchor_date": self.world.anchor_date.isoformat(),
            "tenants": [{
                "tenant_id": t.id, "name": t.name, "domain": t.domain, "has_p1": t.has_p1,
                "roles": list(self.roles_for(t.id)), "consented": self.consent[t.id],
                "authority": self.issuer(t.id),
            } for t in self.world.tenants],
            "limits": self.limiter.limits.as_dict(),
            "faults": self.faults.faults.as_dict(),
        }
