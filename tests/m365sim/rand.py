"""Deterministic randomness: every generator is derived from the seed and a label, never from
Python's per-process `hash()`, so the same seed gives the same organization in every process."""

from __future__ import annotations

import hashlib
import random


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def guid(rng: random.Random) -> str:
    """A version-4 GUID string from `rng` (formatted directly: uuid.UUID is slow at 10^5)."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
