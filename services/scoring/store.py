"""What a worker holds of the households table, partition by partition: for its /partitions page, tests and operators.

The store itself (standby copies kept warm, recovery resumed where it held) is `faust_adapter.WarmMemoryStore`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Set
from typing import Any

from services.scoring.faust_adapter import WarmMemoryStore


def digest(pairs: Iterable[tuple[str, bytes]]) -> str:
    """A digest of (key, value) pairs that does not depend on their order (equal tables, equal digests)."""
    total = 0
    for key, value in pairs:
        total += int.from_bytes(hashlib.blake2b(key.encode() + b"\0" + value, digest_size=8).digest(), "big")
    return f"{total % 2**64:016x}"


def partitions(
    held: WarmMemoryStore, actives: Set[int], standbys: Set[int], digests: bool = True
) -> dict[str, dict[str, Any]]:
    """What the store holds of each partition: its role, households, offset held up to and (`digests`) digest (a pass
    over the table: for tests and operators, not for scraping)."""
    by_partition: dict[int, list[tuple[str, bytes]]] = {p: [] for p in (*actives, *standbys)}
    for key, partition in held.key_partitions.items():
        by_partition.setdefault(partition, []).append((key, held.data[key]))
    offsets = held.holds()
    return {
        str(partition): {
            "role": "active" if partition in actives else "standby" if partition in standbys else "none",
            "households": len(pairs),
            "offset": offsets.get(partition),
            "digest": digest(pairs) if digests else None,
            "applied": held.applied[partition],
        }
        for partition, pairs in sorted(by_partition.items())
    }
