"""docker-compose.yml cannot run here (no Docker engine), so a test keeps it
consistent with the topology: same services, ports, roles, packages and extras."""

from __future__ import annotations

import tomllib

import yaml

from shared.topology import default_path, load_topology

REPO = default_path().parent.parent


def test_compose_has_every_service_with_its_port_role_package_and_extra():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for name, service in load_topology().services.items():
        assert name in compose, f"{name} missing from docker-compose.yml"
        entry = compose[name]
        env = entry["environment"]
        assert env["PORT"] == str(service.port)
        assert f"//{service.db_role}:" in env["DATABASE_URL"]
        assert entry["ports"] == [f"{service.port}:{service.port}"]
        args = entry["build"]["args"]
        assert f"services.{args['SERVICE']}" == service.package
        assert args["EXTRA"] in extras, f"no optional-dependency group {args['EXTRA']!r}"
    assert {"postgres", "pubsub", "storage"} <= set(compose)


def test_compose_emulator_ports_match_the_local_stack_defaults(monkeypatch):
    from infra.local.stack import StackConfig

    for moved in ("COAX_PG_PORT", "COAX_PUBSUB_PORT", "COAX_STORAGE_PORT"):
        monkeypatch.delenv(moved, raising=False)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    cfg = StackConfig.from_env()
    assert compose["postgres"]["ports"] == [f"{cfg.pg_port}:5432"]
    assert compose["pubsub"]["ports"] == [f"{cfg.pubsub_port}:8085"]
    assert compose["storage"]["ports"] == [f"{cfg.storage_port}:9023"]
