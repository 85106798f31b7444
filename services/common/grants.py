"""What an ingest key may write: a source prefix and, maybe, region prefixes (INGEST_API_KEYS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def source_region(source: str) -> str | None:
    """The region a source names: its first path segment of 2-12 digits (`/civil-affairs/532328` → 532328)."""
    return next(
        (part for part in source.split("/") if 2 <= len(part) <= 12 and part.isascii() and part.isdigit()), None
    )


def _under(source: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return base == "" or source == base or source.startswith(base + "/")


@dataclass(frozen=True)
class IngestGrant:
    """What one ingest key may write: sources under `source_prefix`, households in `regions` (None: any region).

    A key scoped to regions publishes only sources naming one of its regions (`/civil-affairs/532328/…`), so the
    (source, id) pairs it can occupy never belong to another region's senders."""

    source_prefix: str
    regions: tuple[str, ...] | None = None

    def covers_region(self, region_code: str) -> bool:
        """True when this key may write households of `region_code`."""
        return self.regions is None or region_code.startswith(self.regions)

    def covers_source(self, source: str) -> bool:
        """True when the source lies under the key's prefix and, for a key scoped to regions, names one of them."""
        if not _under(source, self.source_prefix):
            return False
        named = source_region(source)
        return self.regions is None or (named is not None and named.startswith(self.regions))

    def narrowed(self, other: IngestGrant) -> IngestGrant | None:
        """What both grants allow (None: no source is under both prefixes)."""
        if _under(self.source_prefix, other.source_prefix):
            prefix = self.source_prefix
        elif _under(other.source_prefix, self.source_prefix):
            prefix = other.source_prefix
        else:
            return None
        if self.regions is None or other.regions is None:
            return IngestGrant(prefix, self.regions if other.regions is None else other.regions)
        both = {
            a if a.startswith(b) else b
            for a in self.regions
            for b in other.regions
            if a.startswith(b) or b.startswith(a)
        }
        return IngestGrant(prefix, tuple(sorted(both)))

    def as_record(self) -> dict[str, Any]:
        """JSON form, kept with an import job so its rows are checked against the uploader's grant."""
        return {"source_prefix": self.source_prefix, "regions": None if self.regions is None else list(self.regions)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> IngestGrant:
        """Read `as_record`'s form back."""
        regions = record.get("regions")
        return cls(str(record["source_prefix"]), None if regions is None else tuple(map(str, regions)))
