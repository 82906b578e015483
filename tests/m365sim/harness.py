"""Start the simulator in a background thread for tests, the demo and benchmarks.

    with start_simulator(seed=1, profile="small") as sim:
        tenant = sim.tenants[0]
        app = msal.ConfidentialClientApplication(
            sim.client_id, client_credential=sim.client_secret,
            oidc_authority=sim.authority(tenant.tenant_id), http_client=sim.session())
        token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tests.m365sim.server import SimulatorServer
from tests.m365sim.state import SimSettings, SimState
from tests.m365sim.throttling import Limits
from tests.m365sim.tls import write_self_signed
from tests.m365sim.world import World

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"


class PinnedCertificateAdapter(HTTPAdapter):
    """Verifies TLS against one certificate file, whatever the caller or environment says."""

    def __init__(self, ca_bundle: str, **kwargs):
        self._ca_bundle = ca_bundle
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        kwargs["verify"] = self._ca_bundle
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class TenantInfo:
    tenant_id: str
    name: str
    domain: str
    has_p1: bool
    roles: tuple[str, ...]


class SimulatorHandle:
    def __init__(self, server: SimulatorServer, tls_dir: Path | None):
        self._server = server
        self._tls_dir = tls_dir
        self.state = server.state
        self.world = server.state.world
        self.base_url = server.state.base_url
        self.graph_url = f"{self.base_url}/v1.0"
        self.client_id = self.state.settings.client_id
        self.client_secret = self.state.settings.client_secret
        self.ca_bundle = tls_dir / "cert.pem" if tls_dir else None
        self.tenants = [TenantInfo(t.id, t.name, t.domain, t.has_p1, self.state.roles_for(t.id))
                        for t in self.world.tenants]
        self._control = self.session()
        self.privacy_violations_seen: list[dict] = []
        server.start_in_thread()

    def authority(self, tenant_id: str) -> str:
        """For msal's `oidc_authority=`; `authority=` wants it without the trailing /v2.0."""
        return f"{self.base_url}/{tenant_id}/v2.0"

    def session(self) -> requests.Session:
        """A session that trusts the simulator's certificate for the simulator's address only
        (verification stays on; REQUESTS_CA_BUNDLE cannot override it)."""
        session = requests.Session()
        if self.ca_bundle:
            session.mount(self.base_url, PinnedCertificateAdapter(str(self.ca_bundle)))
        return session

    def msal_app(self, tenant_id: str, client_secret: str | None = None):
        """A real msal ConfidentialClientApplication pointed at this simulator's tenant."""
        import msal  # only the tests and the demo need msal here

        return msal.ConfidentialClientApplication(
            self.client_id, client_credential=client_secret or self.client_secret,
            oidc_authority=self.authority(tenant_id), http_client=self.session())

    def token_provider(self, tenant_id: str) -> Callable[[], str]:
        """App-only access tokens from real msal (which caches them until near expiry)."""
        app = self.msal_app(tenant_id)

        def provide() -> str:
            result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
            if "access_token" not in result:
                raise RuntimeError(f"simulator refused a token: {result.get('error')}")
            return result["access_token"]

        return provide

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self._control.request(method, f"{self.base_url}/_sim{path}", json=body,
                                         timeout=30)
        response.raise_for_status()
        return response.json()

    def config(self) -> dict:
        return self._call("GET", "/config")

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def reset_stats(self) -> None:
        self._remember_privacy_violations()
        self._call("POST", "/stats/reset")

    def _remember_privacy_violations(self) -> None:
        """Keep every violation this simulator saw, across stats resets, so the suite can
        prove at its end that nothing anywhere asked Microsoft for an email body."""
        self.privacy_violations_seen.extend(self.stats().get("privacy_violations", []))

    def forget_privacy_violations(self) -> None:
        """For the tests that provoke a violation on purpose, to prove it is counted."""
        self._call("POST", "/stats/reset")

    def set_faults(self, **faults) -> dict:
        return self._call("POST", "/faults", faults)

    def set_limits(self, **limits) -> dict:
        return self._call("POST", "/limits", limits)

    def ground_truth(self) -> dict:
        return self._call("GET", "/ground-truth")

    def revoke(self, tenant_id: str, *, consent: bool = False, refresh_tokens: bool = True
               ) -> dict:
        return self._call("POST", "/revoke", {"tenant_id": tenant_id, "consent": consent,
                                              "refresh_tokens": refresh_tokens})

    def set_grants(self, tenant_id: str, roles: list[str]) -> dict:
        return self._call("POST", f"/tenants/{tenant_id}/grants", {"roles": roles})

    def expire_delta_tokens(self, tenant_id: str) -> dict:
        return self._call("POST", f"/tenants/{tenant_id}/expire-delta-tokens")

    def directory_changes(self, tenant_id: str) -> dict:
        return self._call("POST", f"/tenants/{tenant_id}/directory-changes")

    def stop(self) -> None:
        try:
            self._remember_privacy_violations()
        except Exception:  # noqa: BLE001, S110 (a simulator that is already down saw nothing more)
            pass
        self._control.close()
        self._server.shutdown()
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_simulator(seed: int = 1, profile: str = "small", anchor_date: date | None = None,
                    *, tls: bool = True, host: str = "127.0.0.1", port: int = 0,
                    world: World | None = None, limits: dict | None = None,
                    faults: dict | None = None, **settings) -> SimulatorHandle:
    """`settings` are SimSettings fields: client_id, client_secret, token_lifetime_s,
    refresh_lifetime_s, redirect_uris, consented, grants ({tenant_id: roles}),
    max_filter_clauses. Pass `world` to reuse an already built World."""
    world = world or World(seed, profile, anchor_date)
    limit_settings = Limits()
    limit_settings.update(limits or {})
    state = SimState(world, SimSettings(**settings), limit_settings)
    if faults:
        state.faults.configure(faults)
    tls_dir = Path(tempfile.mkdtemp(prefix="m365sim-tls-")) if tls else None
    tls_files = write_self_signed(tls_dir, host) if tls_dir else None
    return SimulatorHandle(SimulatorServer(state, host, port, tls_files), tls_dir)
