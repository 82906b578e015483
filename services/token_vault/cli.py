"""`coax vault`: key-encryption-key operations for operators.

    coax vault rotate-kek            add a new KEK version; new data keys use it from now on
    coax vault rewrap [--batch N]    re-wrap existing data keys onto the current KEK
    coax vault retire-kek VERSION    disable a version no record uses any more
    coax vault kek-usage             records per KEK version

Runs with the token-vault's environment and identity (only it may read `token-kek`);
locally: `eval "$(python -m infra.local.stack env token-vault)"` first.
"""

from __future__ import annotations

import argparse
import json

from services.token_vault import rotation
from services.token_vault.keys import KekSource, KeyConfigError, load_keyring
from shared.runtime import Runtime, bootstrap
from shared.secrets import SecretStore, build_store


def register(subparsers) -> None:
    parser = subparsers.add_parser("vault", help="token-vault key operations",
                                   description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="vault_command", metavar="COMMAND", required=True)
    rotate = commands.add_parser("rotate-kek", help="add a new key-encryption key version")
    rotate.set_defaults(func=_rotate)
    rewrap = commands.add_parser("rewrap", help="re-wrap data keys onto the current KEK")
    rewrap.add_argument("--batch", type=int, default=rotation.REWRAP_BATCH,
                        help="records per round (default %(default)s)")
    rewrap.set_defaults(func=_rewrap)
    retire = commands.add_parser("retire-kek", help="disable a KEK version nothing uses")
    retire.add_argument("version", type=int)
    retire.set_defaults(func=_retire)
    usage = commands.add_parser("kek-usage", help="records per KEK version")
    usage.set_defaults(func=_usage)


def _context() -> tuple[Runtime, KekSource, SecretStore]:
    runtime = bootstrap("token-vault")
    kek = KekSource(lambda: load_keyring(runtime.secrets))
    return runtime, kek, build_store(runtime.settings.secrets_dir, runtime.settings.project)


def _print(result: dict) -> int:
    print(json.dumps(result))   # one line: the last line of output, after any log lines
    return 0


def _rotate(args: argparse.Namespace) -> int:
    runtime, kek, store = _context()
    return _print(rotation.rotate_kek(runtime, kek, store))


def _rewrap(args: argparse.Namespace) -> int:
    if args.batch < 1:
        print("error: --batch must be at least 1")
        return 2
    runtime, kek, _ = _context()
    return _print(rotation.rewrap_all(runtime, kek, args.batch))


def _retire(args: argparse.Namespace) -> int:
    runtime, kek, store = _context()
    try:
        return _print(rotation.retire_kek(runtime, kek, store, args.version))
    except (rotation.RetireRefused, KeyConfigError) as refusal:
        print(f"refused: {refusal}")
        return 1


def _usage(args: argparse.Namespace) -> int:
    runtime, _, _ = _context()
    usage = rotation.kek_usage(runtime)
    return _print({"records_per_kek_version": {str(k): v for k, v in usage.items()}})
