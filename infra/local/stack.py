"""The local stack without Docker: PostgreSQL, the Pub/Sub emulator, the
Cloud Storage emulator, as ordinary processes under `.local/`.

    python -m infra.local.stack up | down | status | env SERVICE

`up` is safe to re-run; `down` stops every process it started (each in its
own process group) and checks that no port is left behind. Ports default to
uncommon numbers and can be moved with COAX_PG_PORT, COAX_PUBSUB_PORT and
COAX_STORAGE_PORT (and the services' ports with COAX_SERVICE_PORT_OFFSET) so
two checkouts or a system PostgreSQL never collide.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as random_secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DB_NAME = "coax"
LOCAL_DB_PASSWORD = "local-only"  # noqa: S105 (loopback-only development cluster)
LOCAL_SIM_CLIENT_ID = "c0a0c0a0-5153-4d36-9a55-000000c0a0c0"
PUBSUB_EMULATOR_CANDIDATES = (
    "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    "/usr/share/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    "/opt/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
)


class PrerequisiteMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class StackConfig:
    local_dir: Path
    pg_port: int
    pubsub_port: int
    storage_port: int
    project: str
    service_port_offset: int = 0     # added to every service's topology port

    @classmethod
    def from_env(cls) -> StackConfig:
        local = Path(os.environ.get("COAX_LOCAL_DIR", REPO / ".local")).resolve()
        return cls(
            local_dir=local,
            pg_port=int(os.environ.get("COAX_PG_PORT", "55433")),
            pubsub_port=int(os.environ.get("COAX_PUBSUB_PORT", "18085")),
            storage_port=int(os.environ.get("COAX_STORAGE_PORT", "19023")),
            project=os.environ.get("GOOGLE_CLOUD_PROJECT", "coax-local"),
            service_port_offset=int(os.environ.get("COAX_SERVICE_PORT_OFFSET", "0")),
        )

    def service_port(self, service) -> int:
        return service.port + self.service_port_offset

    @property
    def pg_dir(self) -> Path:
        """Where the cluster lives. Run as root, the cluster belongs to the
        `postgres` user, which cannot enter /root: then it lives under /tmp,
        named after this checkout, and .local/pg points at it."""
        inside = self.local_dir / "pg"
        if os.geteuid() != 0 or _postgres_can_reach(self.local_dir):
            return inside
        digest = hashlib.sha256(str(self.local_dir).encode()).hexdigest()[:10]
        return Path("/tmp") / f"coax-pg-{digest}"  # noqa: S108 (postgres cannot enter /root)

    @property
    def state_file(self) -> Path:
        return self.local_dir / "stack.json"

    def url(self, role: str, database: str = DB_NAME) -> str:
        return (f"postgresql+pg8000://{role}:{LOCAL_DB_PASSWORD}@127.0.0.1:{self.pg_port}"
                f"/{database}")

    @property
    def superuser_url(self) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def pubsub_host(self) -> str:
        return f"127.0.0.1:{self.pubsub_port}"

    @property
    def secrets_dir(self) -> Path:
        return self.local_dir / "secrets"


def _postgres_can_reach(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("runuser") is None:
        return False
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(path)],
                           capture_output=True)
    if probe.returncode == 0:
        return True
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)],
                           capture_output=True)
    return probe.returncode == 0


# ---------------------------------------------------------------- prerequisites

def pg_bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PrerequisiteMissing(
        "PostgreSQL server binaries (initdb, pg_ctl) not found.\n"
        "  Debian/Ubuntu: apt-get install -y postgresql-15   (or postgresql)")


def pubsub_emulator() -> Path:
    for candidate in PUBSUB_EMULATOR_CANDIDATES:
        if Path(candidate).exists():
            if shutil.which("java") is None:
                raise PrerequisiteMissing(
                    "Java not found (the Pub/Sub emulator needs Java 11+).\n"
                    "  Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless")
            return Path(candidate)
    raise PrerequisiteMissing(
        "The Pub/Sub emulator is not installed.\n"
        "  With the Google Cloud CLI: gcloud components install pubsub-emulator\n"
        "  or (apt installs of the CLI): apt-get install -y google-cloud-cli-pubsub-emulator")


def storage_emulator() -> Path:
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    if exe.exists():
        return exe
    found = shutil.which("gcp-storage-emulator")
    if found:
        return Path(found)
    raise PrerequisiteMissing("gcp-storage-emulator not found: pip install gcp-storage-emulator")


def check_prerequisites() -> list[str]:
    problems = []
    for check in (pg_bin, pubsub_emulator, storage_emulator):
        try:
            check()
        except PrerequisiteMissing as exc:
            problems.append(str(exc))
    return problems


# ---------------------------------------------------------------- processes

def free_port() -> int:
    """A loopback port nothing listens on right now (for throwaway servers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, what: str, timeout_s: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = ""
    if log and log.exists():
        tail = "\n  last log lines:\n    " + "\n    ".join(log.read_text().splitlines()[-15:])
    raise RuntimeError(f"{what} did not become ready within {timeout_s:.0f} s{tail}")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start_postgres(cfg: StackConfig) -> None:
    binary = pg_bin()
    data = cfg.pg_dir / "data"
    sock = cfg.pg_dir / "sock"
    if _pg_running(cfg):
        return
    if port_open(cfg.pg_port):
        raise RuntimeError(f"port {cfg.pg_port} is taken by another program; set COAX_PG_PORT")
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(cfg.pg_dir, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        data.chmod(0o700)
        subprocess.run(_as_postgres([str(binary / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"]),
                       check=True, capture_output=True)
    options = (f"-p {cfg.pg_port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
               f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(_as_postgres([str(binary / "pg_ctl"), "-D", str(data), "-l",
                                 str(cfg.pg_dir / "server.log"), "-w", "-t", "30", "-o", options,
                                 "start"]), check=True, capture_output=True)
    if cfg.pg_dir != cfg.local_dir / "pg":
        link = cfg.local_dir / "pg"
        if not link.exists():
            link.symlink_to(cfg.pg_dir)


def _pg_running(cfg: StackConfig) -> bool:
    data = cfg.pg_dir / "data"
    if not (data / "postmaster.pid").exists():
        return False
    status = subprocess.run(_as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(data), "status"]),
                            capture_output=True)
    return status.returncode == 0


def stop_postgres(cfg: StackConfig) -> None:
    data = cfg.pg_dir / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(_as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(data), "-w", "-m", "fast",
                                     "stop"]), capture_output=True)


def spawn(args: list[str], log: Path, env: dict | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env=env or os.environ.copy())
    return process.pid


def kill_group(pid: int, timeout_s: float = 10) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pubsub_ready(cfg: StackConfig) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(
                f"http://{cfg.pubsub_host}/v1/projects/{cfg.project}/topics", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def read_state(cfg: StackConfig) -> dict:
    if cfg.state_file.exists():
        return json.loads(cfg.state_file.read_text())
    return {}


def write_state(cfg: StackConfig, state: dict) -> None:
    cfg.local_dir.mkdir(parents=True, exist_ok=True)
    cfg.state_file.write_text(json.dumps(state, indent=2))


def start_emulators(cfg: StackConfig, state: dict) -> None:
    logs = cfg.local_dir / "logs"
    if not _pubsub_ready(cfg):
        if port_open(cfg.pubsub_port):
            raise RuntimeError(f"port {cfg.pubsub_port} is taken; set COAX_PUBSUB_PORT")
        state["pubsub_pid"] = spawn(
            [str(pubsub_emulator()), "--host=127.0.0.1", f"--port={cfg.pubsub_port}"],
            logs / "pubsub.log")
        _wait(lambda: _pubsub_ready(cfg), "Pub/Sub emulator", 60, logs / "pubsub.log")
    if not port_open(cfg.storage_port):
        state["storage_pid"] = spawn(
            [str(storage_emulator()), "start", "--host", "127.0.0.1", "--port",
             str(cfg.storage_port), "--in-memory"], logs / "storage.log")
        _wait(lambda: port_open(cfg.storage_port), "Cloud Storage emulator", 30,
              logs / "storage.log")


def ensure_local_secrets(cfg: StackConfig, sim_client_secret: str) -> None:
    """Random keys for the local stack, created once; never used anywhere else."""
    root = cfg.secrets_dir
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    wanted = {
        "token-kek/1": lambda: base64.b64encode(random_secrets.token_bytes(64)),
        "vault-session-key": lambda: base64.b64encode(random_secrets.token_bytes(64)),
        "jwt-signing-key": lambda: base64.b64encode(random_secrets.token_bytes(64)),
        "api-session-key": lambda: base64.b64encode(random_secrets.token_bytes(64)),
        "microsoft-client-secret": lambda: sim_client_secret.encode(),
    }
    for name, make in wanted.items():
        path = root / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(make())
            path.chmod(0o600)


def service_urls(cfg: StackConfig) -> dict[str, str]:
    from shared.topology import load_topology

    return {name: f"http://127.0.0.1:{cfg.service_port(s)}"
            for name, s in load_topology().services.items()}


def service_env(cfg: StackConfig, service: str, extra: dict | None = None) -> dict[str, str]:
    """The environment a service process gets on the local stack."""
    from shared.topology import load_topology

    topology = load_topology()
    env = {
        "COAX_ENV": "local",
        "COAX_PUSH_AUTH": "false",
        "DATABASE_URL": cfg.url(topology.service(service).db_role),
        "GOOGLE_CLOUD_PROJECT": cfg.project,
        "PUBSUB_EMULATOR_HOST": cfg.pubsub_host,
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{cfg.storage_port}",
        "COAX_SECRETS_DIR": str(cfg.secrets_dir),
        "COAX_VAULT_URL": f"http://127.0.0.1:{cfg.service_port(topology.service('token-vault'))}",
        # The app registration the simulated tenant knows (local use only).
        "COAX_MICROSOFT_CLIENT_ID": os.environ.get("COAX_MICROSOFT_CLIENT_ID",
                                                   LOCAL_SIM_CLIENT_ID),
    }
    env.update(extra or {})
    return env


@contextmanager
def _emulator_host(host: str):
    """The Pub/Sub client finds the emulator through the environment; point it there only
    while the topology is applied, so a caller's own setting is left as it was."""
    before = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = before


def up(cfg: StackConfig, *, reset_db: bool = False) -> dict:
    from infra.local import database, pubsub
    from shared.topology import load_topology

    problems = check_prerequisites()
    if problems:
        raise PrerequisiteMissing("missing prerequisites:\n" + "\n".join(problems))
    cfg.local_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(cfg)
    started = time.monotonic()
    start_postgres(cfg)
    start_emulators(cfg, state)
    state.update(asdict(cfg) | {"local_dir": str(cfg.local_dir), "pg_dir": str(cfg.pg_dir)})
    write_state(cfg, state)
    topology = load_topology()
    database.bootstrap(cfg.superuser_url, DB_NAME, topology, LOCAL_DB_PASSWORD)
    if reset_db:
        database.reset_schema(cfg.url("coax_owner"))
    database.migrate(cfg.url("coax_owner"))
    with _emulator_host(cfg.pubsub_host):
        pubsub.apply_topology(topology, cfg.project, service_urls(cfg), local=True)
    ensure_local_secrets(cfg, os.environ.get("M365SIM_CLIENT_SECRET", "local-sim-secret"))
    state["ready_in_s"] = round(time.monotonic() - started, 2)
    write_state(cfg, state)
    return state


def down(cfg: StackConfig) -> list[str]:
    state = read_state(cfg)
    for key in ("services", ):
        for pid in state.get(key, {}).values():
            kill_group(int(pid))
    for key in ("pubsub_pid", "storage_pid"):
        if state.get(key):
            kill_group(int(state[key]))
    stop_postgres(cfg)
    if cfg.state_file.exists():
        cfg.state_file.unlink()
    busy = [str(p) for p in (cfg.pg_port, cfg.pubsub_port, cfg.storage_port) if port_open(p)]
    return busy


def main(argv: list[str]) -> int:
    cfg = StackConfig.from_env()
    command = argv[0] if argv else "status"
    try:
        if command == "up":
            state = up(cfg, reset_db="--reset-db" in argv)
            print(f"local stack up in {state['ready_in_s']} s: PostgreSQL 127.0.0.1:{cfg.pg_port}, "
                  f"Pub/Sub emulator {cfg.pubsub_host}, Cloud Storage emulator "
                  f"127.0.0.1:{cfg.storage_port}")
        elif command == "down":
            busy = down(cfg)
            if busy:
                print(f"warning: ports still open after down: {', '.join(busy)}")
                return 1
            print("local stack down: no process and no port left behind")
        elif command == "status":
            print(json.dumps(read_state(cfg), indent=2) or "{}")
        elif command == "check":
            problems = check_prerequisites()
            print("\n".join(problems) if problems else "all prerequisites present")
            return 1 if problems else 0
        elif command == "env":
            for key, value in service_env(cfg, argv[1]).items():
                print(f"export {key}={value}")
        else:
            print(__doc__)
            return 2
    except PrerequisiteMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
