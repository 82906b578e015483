"""Connect a simulated Microsoft 365 tenant through a real token-vault (for any test).

    from tests.m365sim.harness import start_simulator
    from tests.support.connect import connect_tenant, running_vault

    def test_something(stack, owner):
        with start_simulator(seed=1, profile="small") as sim:
            tenant = sim.tenants[0].tenant_id
            org_id, connection_id = connect_tenant(stack, owner, sim, tenant)
            with running_vault(stack, sim) as vault:
                # give your service COAX_VAULT_URL=vault.url; it asks for tokens with
                # shared.vault_client.VaultTokenProvider(vault.url, connection_id, purpose,
                #                                        caller="<your service>")
                ...

`connect_tenant` creates an organization (as the owner), starts a vault for the
duration of the call (or uses `vault=` if you pass a running one), and runs the
admin-consent connect over HTTP exactly as a browser would: the API's start call,
the simulator's consent redirect, the vault's callback. The connection is active,
app-only, with the tenant's granted roles; `mode="attachments"` falls back to
"metadata" when the tenant lacks Mail.Read (the simulator's second tenant does).

Every vault started here reads the stack's KEK and session key and the simulator's
client secret, so tokens stored by one vault open in the next.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

from infra.local.stack import StackConfig, free_port
from tests.support.stack import running_service

API_CALLER = {"X-Coax-Local-Caller": "api"}


def vault_secrets_dir(stack: StackConfig, sim) -> Path:
    """A secrets folder for vaults talking to `sim`: the stack's KEK and session key
    (linked, so a rotation on the stack is seen) plus the simulator's client secret."""
    folder = stack.local_dir / "vault-sim-secrets"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for name in ("token-kek", "vault-session-key"):
        link = folder / name
        if not link.exists():
            try:
                link.symlink_to(stack.secrets_dir / name)
            except FileExistsError:
                pass   # another test process linked it first
    secret = folder / "microsoft-client-secret"
    if not secret.exists() or secret.read_text() != sim.client_secret:
        partial = folder / f".client-secret.{uuid.uuid4().hex}"
        partial.write_text(sim.client_secret)
        partial.chmod(0o600)
        os.replace(partial, secret)
    return folder


def vault_env(stack: StackConfig, sim, public_url: str, secrets_dir: Path | None = None,
              extra: dict | None = None) -> dict:
    """Environment for a vault against `sim` (extra keys for service_env)."""
    return {
        "COAX_SECRETS_DIR": str(secrets_dir or vault_secrets_dir(stack, sim)),
        "COAX_AUTHORITY_URL": sim.base_url,
        "COAX_MICROSOFT_CLIENT_ID": sim.client_id,
        "COAX_PUBLIC_URL": public_url,
        **(extra or {}),
    }


@contextmanager
def running_vault(stack: StackConfig, sim, port: int | None = None,
                  secrets_dir: Path | None = None, extra_env: dict | None = None,
                  http_session: requests.Session | None = None):
    """A token-vault in a thread, wired to `sim`; yields a RunningService (`.url`, `.app`).

    `http_session` (default `sim.session()`) is how the vault reaches the simulator.
    """
    from services.token_vault.main import create_app

    port = port or free_port()
    env = vault_env(stack, sim, f"http://127.0.0.1:{port}", secrets_dir, extra_env)
    with running_service(stack, "token-vault", create_app, extra_env=env, port=port,
                         http_session=http_session or sim.session()) as vault:
        yield vault


def create_org_only(owner: sa.Engine, name: str = "Contoso") -> str:
    org_id = str(uuid.uuid4())
    with owner.begin() as connection:
        connection.execute(sa.text("insert into organizations (id, name) values (:id, :name)"),
                           {"id": org_id, "name": name})
    return org_id


def admin_consent(vault_url: str, sim, org_id: str, tenant_id: str,
                  mode: str = "attachments") -> dict:
    """Run the admin-consent connect through `vault_url`; returns the callback's answer."""
    start = requests.post(f"{vault_url}/connect/admin-consent/start", headers=API_CALLER,
                          json={"org_id": org_id, "mode": mode, "tenant": tenant_id}, timeout=30)
    start.raise_for_status()
    consent = sim.session().get(start.json()["authorize_url"], allow_redirects=False, timeout=30)
    if consent.status_code != 302:
        raise AssertionError(f"consent page answered {consent.status_code}: {consent.text[:300]}")
    callback = requests.get(consent.headers["Location"], timeout=30)
    if callback.status_code != 200:
        raise AssertionError(f"vault callback answered {callback.status_code}: "
                             f"{callback.text[:300]}")
    return callback.json()


def connect_tenant(stack: StackConfig, owner: sa.Engine, sim, tenant_id: str,
                   mode: str = "attachments", *, vault=None,
                   org_name: str = "Contoso") -> tuple[str, str]:
    """A new organization connected (admin consent, app-only) to `tenant_id` of `sim`.

    Returns (org_id, connection_id). Pass `vault=` (a RunningService from
    `running_vault`) to reuse a running vault; otherwise one runs for this call only.
    """
    org_id = create_org_only(owner, org_name)
    if vault is not None:
        answer = admin_consent(vault.url, sim, org_id, tenant_id, mode)
    else:
        with running_vault(stack, sim) as temporary:
            answer = admin_consent(temporary.url, sim, org_id, tenant_id, mode)
    return org_id, answer["connection_id"]


# ---------------------------------------------------------------- inspecting the vault's table

def expire_access_token(owner: sa.Engine, connection_id: str) -> None:
    """Make the cached access token look expired, so the next handout must refresh."""
    with owner.begin() as connection:
        connection.execute(sa.text("update vault_tokens set expires_at = now() - interval '1 "
                                   "minute' where connection_id = :c and kind like "
                                   "'access_token:%'"), {"c": connection_id})


def stored_token(owner: sa.Engine, secrets_dir: Path, connection_id: str, kind: str) -> str:
    """Decrypt a stored token with the KEKs in `secrets_dir` (tests inspect what was kept)."""
    from services.token_vault import records
    from services.token_vault.keys import load_keyring
    from shared.secrets import LocalSecretStore, ScopedSecrets
    from shared.topology import load_topology

    secrets = ScopedSecrets(LocalSecretStore(secrets_dir), "token-vault", load_topology())
    with owner.connect() as connection:
        row = connection.execute(sa.text(
            "select id, org_id, connection_id, kind, generation, kek_version, wrapped_dek, "
            "ciphertext, expires_at from vault_tokens where connection_id = :c and kind = :k"),
            {"c": connection_id, "k": kind}).one()
    return records.reveal(load_keyring(secrets), records.from_row(row))
