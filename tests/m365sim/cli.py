"""`coax m365sim serve|ground-truth`: run the simulated tenant as a process, or print the
ground truth of a world without serving it."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path

from tests.m365sim.server import SimulatorServer
from tests.m365sim.state import DEFAULT_CLIENT_ID, SimSettings, SimState, default_client_secret
from tests.m365sim.tls import write_self_signed
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
    serve.set_defaults(func=_serve)

    truth = commands.add_parser("ground-truth", help="print the world's ground truth as JSON")
    _world_arguments(truth)
    truth.add_argument("--out", type=Path, default=None)
    truth.set_defaults(func=_ground_truth)


def _serve(args: argparse.Namespace) -> int:
    world = World(args.seed, args.profile, args.anchor_date)
    settings = SimSettings(client_id=args.client_id,
                           client_secret=args.client_secret or default_client_secret())
    state = SimState(world, settings)
    tls_files = None
    if not args.no_tls:
        tls_dir = args.tls_dir or Path(tempfile.mkdtemp(prefix="m365sim-tls-"))
        tls_files = write_self_signed(tls_dir, args.host)
    server = SimulatorServer(state, args.host, args.port, tls_files)
    config = {**state.config(), "ca_bundle": str(tls_files[0]) if tls_files else None}
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
    return 0


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
