"""Typed settings from the environment, validated once at start-up.

Every problem is reported at once, one line each, so an operator fixes a
deployment in one go instead of one crash per missing variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.topology import default_path

ENVIRONMENTS = ("local", "cloud")


class SettingsError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Settings:
    service: str
    environment: str                 # "local" (emulators, no push auth) or "cloud"
    database_url: str = field(repr=False)  # may carry a password
    project: str
    topology_path: Path
    push_auth: bool                  # verify Pub/Sub push OIDC tokens
    push_audience: str | None
    secrets_dir: Path | None         # local secret store; None means Secret Manager
    vault_url: str | None            # token-vault base URL for access-token handouts
    graph_base_url: str
    authority_base_url: str          # Microsoft identity platform (or the simulator)
    public_base_url: str | None      # this service's own external URL (redirects)
    on_cloud_run: bool

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is required")
            return value

        environment = env.get("COAX_ENV", "cloud").strip()
        if environment not in ENVIRONMENTS:
            problems.append(
                f"COAX_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
        database_url = need("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql+pg8000://", "cloudsql://")):
            problems.append("DATABASE_URL must start with postgresql+pg8000:// or cloudsql://")
        push_auth = _flag(env.get("COAX_PUSH_AUTH", "true"), "COAX_PUSH_AUTH", problems)
        on_cloud_run = bool(env.get("K_SERVICE"))
        if on_cloud_run and (environment == "local" or not push_auth):
            problems.append(
                "K_SERVICE is set (Cloud Run) but COAX_ENV=local or COAX_PUSH_AUTH=false: "
                "refusing to run without push authentication in the cloud"
            )
        push_audience = env.get("COAX_PUSH_AUDIENCE") or None
        if push_auth and not push_audience:
            problems.append("COAX_PUSH_AUDIENCE is required when COAX_PUSH_AUTH is on")
        secrets_dir = env.get("COAX_SECRETS_DIR") or None
        if secrets_dir and on_cloud_run:
            problems.append("COAX_SECRETS_DIR is a local secret store and is refused on Cloud Run")
        if problems:
            raise SettingsError(problems)
        return cls(
            service=service,
            environment=environment,
            database_url=database_url,
            project=env.get("GOOGLE_CLOUD_PROJECT", "coax-local"),
            topology_path=Path(env.get("COAX_TOPOLOGY") or default_path()),
            push_auth=push_auth,
            push_audience=push_audience,
            secrets_dir=Path(secrets_dir) if secrets_dir else None,
            vault_url=env.get("COAX_VAULT_URL") or None,
            graph_base_url=env.get("COAX_GRAPH_URL", "https://graph.microsoft.com/v1.0"),
            authority_base_url=env.get("COAX_AUTHORITY_URL", "https://login.microsoftonline.com"),
            public_base_url=env.get("COAX_PUBLIC_URL") or None,
            on_cloud_run=on_cloud_run,
        )


def _flag(value: str, name: str, problems: list[str]) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    problems.append(f"{name} must be true or false, not {value!r}")
    return True
