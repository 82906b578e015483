"""`coax m365sim serve|ground-truth`: run the simulated tenant as a process, or print the
ground truth of a world without serving it."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path

from tests.m365sim.server import SimulatorServer
from tests.m365sim.state import DEFAULT_CLIENT_ID, SimSettings, SimState, default_client_secret
from tests.m365sim.tls import write_self_signed, write_trust_bundle
from tests.m365sim.world import PROFILES, World


def _world_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--anchor-date", type=date.fromisoformat, default=None,
                        help="YYYY-MM-DD; sign-ins and mail end here (default: today UTC)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("m365sim", help="the simulated Microsoft 365 tenant")
    commands = parser.add_subparsers(dest="m365sim_command", required=True)

    serve = commands.add_parser("serve", help="serve identity + Graph over HTTPS")
    _world_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    serve.add_argument("--client-secret", default=None,
                       help="default: $M365SIM_CLIENT_SECRET or the local-only constant")
    serve.add_argument("--tls-dir", type=Path, default=None,
                       help="where cert.pem/key.pem are written (default: a temp dir)")
    serve.add_argument("--no-tls", action="store_true",
                       help="plain HTTP (msal refuses http authorities; Graph clients work)")
    serve.add_argument("--config-out", type=Path, default=None,
                       help="also write the startup config JSON here")
    serve.add_argument("--token-lifetime", type=int, default=3599,
                       help="access token lifetime in seconds")
    serve.add_argument("--unconsented", action="store_true",
                       help="tenants start without admin consent (the connect flow grants it)")
    serve.add_argument("--grant", action="append", default=[], metavar="TENANT=ROLE,ROLE",
                       help="application permissions of a tenant (id or index 0, 1, ...)")
    serve.set_defaults(func=_serve)

    truth = commands.add_parser("ground-truth", help="print the world's ground truth as JSON")
    _world_arguments(truth)
    truth.add_argument("--out", type=Path, default=None)
    truth.set_defaults(func=_ground_truth)


def _serve(args: argparse.Namespace) -> int:
    world = World(args.seed, args.profile, args.anchor_date)
    try:
        grants = _parse_grants(world, args.grant)
    except ValueError as exc:
        print(f"m365sim: {exc}", file=sys.stderr)
        return 2
    settings = SimSettings(client_id=args.client_id,
                           client_secret=args.client_secret or default_client_secret(),
                           token_lifetime_s=args.token_lifetime,
                           consented=not args.unconsented, grants=grants)
    state = SimState(world, settings)
    tls_files = bundle = temporary_dir = None
    if not args.no_tls:
        if args.tls_dir is None:
            temporary_dir = Path(tempfile.mkdtemp(prefix="m365sim-tls-"))
        tls_dir = args.tls_dir or temporary_dir
        tls_files = write_self_signed(tls_dir, args.host)
        bundle = write_trust_bundle(tls_files[0])
    server = SimulatorServer(state, args.host, args.port, tls_files)
    config = {**state.config(), "ca_bundle": str(tls_files[0]) if tls_files else None,
              "ca_bundle_with_public_roots": str(bundle) if bundle else None}
    line = json.dumps(config)
    if args.config_out:
        args.config_out.write_text(line + "\n")
    print(line, flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)
    return 0


def _parse_grants(world: World, specs: list[str]) -> dict[str, tuple[str, ...]]:
    grants = {}
    for spec in specs:
        tenant, _, roles = spec.partition("=")
        if not roles:
            raise ValueError(f"--grant {spec!r}: expected TENANT=ROLE,ROLE")
        if tenant.isdigit() and int(tenant) < len(world.tenants):
            tenant = world.tenants[int(tenant)].id
        elif tenant not in {t.id for t in world.tenants}:
            raise ValueError(f"--grant {spec!r}: unknown tenant {tenant!r}")
        grants[tenant] = tuple(r.strip() for r in roles.split(",") if r.strip())
    return grants


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C


def _ground_truth(args: argparse.Namespace) -> int:
    payload = json.dumps(World(args.seed, args.profile, args.anchor_date).ground_truth(),
                         indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(payload + "\n", encoding="utf-8")
    else:
        sys.stdout.write(payload + "\n")
    return 0
