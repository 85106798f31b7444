"""The region directory in Redis (imported township and village names, county overrides) behind an in-process cache.

Keys (prefix `regions:`): `regions:names` hash code → name, `regions:initials` hash code → pinyin initials,
`regions:find:{county}` zset of "{name|initials|code}\\0{code}" for prefix search (ZRANGEBYLEX), `regions:counties`
the counties holding imported names, and `regions:version`, raised by every import batch that changed a name. A lookup
reads the version and the names the cache lacks in one pipelined round trip, whatever the number of codes; a changed
version empties the cache (one more round trip for the names it held).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import cache

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from services.regions.catalogue import (
    display_name,
    full_name,
    imported_lineage,
    initials,
    lineage,
    package_names,
)

NAMES, INITIALS, VERSION, COUNTIES = "regions:names", "regions:initials", "regions:version", "regions:counties"
FIND_SCAN = 500  # entries read from one county's search index per suggestion (then kept inside the jurisdiction)


def find_key(county: str) -> str:
    """The prefix-search index of a county's imported names."""
    return f"regions:find:{county}"


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Place(BaseModel):
    """A region code with its name as shown, and its full name from the province down."""

    code: str = Field(examples=["532325101001"])
    name: str = Field(description="as shown: a village with its township; the code when unknown",
                      examples=["新华乡 · 新华村"])  # fmt: skip
    full_name: str = Field(examples=["云南省 楚雄彝族自治州 姚安县 新华乡 新华村"])


@cache
def _package_index() -> list[tuple[str, str, str]]:
    return [(code, name, initials(name)) for code, name in package_names().items()]


def _matches(query: str, code: str, name: str) -> bool:
    return code.startswith(query) or name.startswith(query) or initials(name).startswith(query)


class RegionDirectory:
    """Names of region codes: the package's, overridden or completed by the imported ones, cached in the process."""

    def __init__(self, redis: Redis, cache_limit: int = 100_000):
        self._redis = redis
        self._limit = cache_limit
        self._known: dict[str, str | None] = {}  # imported name, or None: none imported
        self._version: str | None = None

    async def names_of(self, codes: Iterable[str]) -> dict[str, str]:
        """How each code is shown (a village: "新华乡 · 新华村"; unknown: the code), in one batch lookup."""
        wanted = set(codes)
        names = await self.level_names(wanted)
        return {code: display_name(code, names) for code in wanted}

    async def describe(self, codes: Iterable[str]) -> list[Place]:
        """Each code with its shown and full name, in the order given."""
        codes = list(dict.fromkeys(codes))
        names = await self.level_names(codes)
        return [Place(code=c, name=display_name(c, names), full_name=full_name(c, names)) for c in codes]

    async def level_names(self, codes: Iterable[str]) -> dict[str, str]:
        """The names of every level of the codes (imported first, then the package's)."""
        codes = list(codes)
        imported = await self._imported({level for code in codes for level in imported_lineage(code)})
        package = package_names()
        names: dict[str, str] = {}
        for code in codes:
            for level in lineage(code):
                found = imported.get(level) or package.get(level)
                if found:
                    names[level] = found
        return names

    async def _imported(self, wanted: set[str]) -> dict[str, str]:
        if not wanted:
            return {}
        missing = [code for code in wanted if code not in self._known]
        version, fetched = await self._fetch(missing)
        if version != self._version:
            self._known = {}
            self._version = version
            missing_set = set(missing)
            rest = [code for code in wanted if code not in missing_set]
            self._remember(missing, fetched)
            if rest:
                version, refetched = await self._fetch(rest)
                self._remember(rest, refetched)
        else:
            self._remember(missing, fetched)
        return {code: name for code in wanted if (name := self._known.get(code)) is not None}

    async def _fetch(self, codes: list[str]) -> tuple[str | None, list[str | None]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(VERSION)
            if codes:
                pipe.hmget(NAMES, codes)
            found = await pipe.execute()
        return _text(found[0]), [_text(v) for v in found[1]] if codes else []

    def _remember(self, codes: list[str], names: list[str | None]) -> None:
        if len(self._known) + len(codes) > self._limit:
            self._known = {}
        self._known.update(zip(codes, names, strict=True))

    async def suggest(self, query: str, within: str, limit: int) -> list[Place]:
        """Regions inside `within` whose name or pinyin initials or code start with `query`; higher levels first."""
        query = query.strip().lower()
        if not query:
            return []
        scope = within
        if query.isascii() and query.isdigit():
            if not (query.startswith(within) or within.startswith(query)):
                return []
            scope = max(query, within, key=len)
        package = await asyncio.to_thread(_package_index)  # the first call loads pypinyin (about a second)
        found = {code for code, name, short in package if code.startswith(scope) and
                 (code.startswith(query) or name.startswith(query) or short.startswith(query))}  # fmt: skip
        found |= await self._search_imported(query, scope)
        ranked = sorted(found, key=lambda code: (len(code), code))
        names: dict[str, str] = {}
        kept: list[str] = []
        for start in range(0, len(ranked), 2 * limit):  # names looked up a slice at a time, up to `limit` kept
            page = ranked[start : start + 2 * limit]
            names |= await self.level_names(page)
            # a county found by the package's name may have been renamed by an import
            kept += [code for code in page if len(code) != 6 or _matches(query, code, names.get(code, ""))]
            if len(kept) >= limit:
                break
        return [Place(code=c, name=display_name(c, names), full_name=full_name(c, names)) for c in kept[:limit]]

    async def _search_imported(self, query: str, scope: str) -> set[str]:
        if len(scope) >= 6:
            counties = [scope[:6]]
        else:
            counties = [c for c in map(_text, await self._redis.smembers(COUNTIES)) if c and c.startswith(scope)]
        low, high = b"[" + query.encode(), b"[" + query.encode() + b"\xff"
        async with self._redis.pipeline(transaction=False) as pipe:
            for county in counties:
                pipe.zrangebylex(find_key(county), low, high, start=0, num=FIND_SCAN)
            pages = await pipe.execute()
        codes = {str(_text(entry)).rpartition("\0")[2] for page in pages for entry in page}
        return {code for code in codes if code.startswith(scope)}
