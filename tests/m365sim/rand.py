"""Deterministic randomness: every generator is derived from the seed and a label, never from
Python's per-process `hash()`, so the same seed gives the same organization in every process."""

from __future__ import annotations

import hashlib
import random
import uuid


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
