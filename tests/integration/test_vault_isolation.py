"""Only token-vault holds Microsoft credentials and token keys: secrets and table grants."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from infra.local.stack import service_env
from shared.runtime import bootstrap
from shared.secrets import SecretAccessDenied
from shared.topology import load_topology
from tests.support.stack import role_engine

VAULT_SECRETS = ("microsoft-client-secret", "token-kek", "vault-session-key")
VAULT_TABLES = ("vault_tokens", "vault_grants", "vault_used_states")


def _other_services() -> list[str]:
    return [name for name in load_topology().services if name != "token-vault"]


def test_the_topology_gives_vault_secrets_to_the_vault_only():
    topology = load_topology()
    for secret in VAULT_SECRETS:
        assert topology.secret_owners(secret) == ["token-vault"]


@pytest.mark.parametrize("service", _other_services())
def test_other_services_cannot_read_vault_secrets_and_are_audited(stack, owner, service):
    runtime = bootstrap(service, service_env(stack, service))
    try:
        with owner.connect() as db:
            last_id = db.execute(sa.text("select coalesce(max(id), 0) from audit_log")).scalar()
        for secret in VAULT_SECRETS:
            with pytest.raises(SecretAccessDenied):
                runtime.secrets.access(secret)
            with pytest.raises(SecretAccessDenied):
                runtime.secrets.versions(secret)
        with owner.connect() as db:
            denied = db.execute(sa.text(
                "select target from audit_log where id > :last and action = "
                "'secret.access_denied' and actor = :actor"),
                {"last": last_id, "actor": service}).scalars().all()
        assert sorted(set(denied)) == sorted(VAULT_SECRETS)
    finally:
        runtime.engine.dispose()


def test_the_vault_reads_its_own_secrets(stack):
    runtime = bootstrap("token-vault", service_env(stack, "token-vault"))
    try:
        assert runtime.secrets.versions("token-kek")
        assert runtime.secrets.access("vault-session-key").reveal()
    finally:
        runtime.engine.dispose()


@pytest.mark.parametrize("service", _other_services())
def test_other_roles_cannot_read_the_token_tables(stack, service):
    role = load_topology().service(service).db_role
    engine = role_engine(stack, role)
    try:
        for table in VAULT_TABLES:
            with engine.connect() as db, pytest.raises(sa.exc.ProgrammingError,
                                                       match="permission denied"):
                db.execute(sa.text(f"select count(*) from {table}"))
    finally:
        engine.dispose()


def test_the_vault_role_sees_one_organization_at_a_time(stack, owner):
    from tests.support.stack import create_org

    org_id, connection_id = create_org(owner)
    other_org, _ = create_org(owner)
    with owner.begin() as db:
        db.execute(sa.text("insert into vault_tokens (org_id, connection_id, kind, generation, "
                           "kek_version, wrapped_dek, ciphertext) values (:o, :c, 'refresh_token', "
                           "1, 1, '\\x00', '\\x00')"), {"o": org_id, "c": connection_id})
    engine = role_engine(stack, "coax_token_vault")

    def visible(scope: str | None) -> int:
        with engine.begin() as db:
            if scope:
                db.execute(sa.text("select set_config('app.org_id', :o, true)"), {"o": scope})
            return db.execute(sa.text("select count(*) from vault_tokens where connection_id = "
                                      ":c"), {"c": connection_id}).scalar()

    try:
        assert (visible(None), visible(other_org), visible(org_id)) == (0, 0, 1)
    finally:
        engine.dispose()
