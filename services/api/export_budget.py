"""How many ledger exports an API process may still start (LEDGER_CONCURRENCY), and the pace all of them together
write lines at (LEDGER_ROWS_PER_SECOND)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class ExportBudget:
    """How many ledger exports this process may still start, and the pace all of them together write lines at."""

    def __init__(
        self,
        slots: int,
        rows_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._free, self._rate = slots, rows_per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0  # when the lines booked so far will have been written, at the budget's pace

    def take(self) -> bool:
        """Claim a slot; False when all are in use."""
        if self._free <= 0:
            return False
        self._free -= 1
        return True

    def give_back(self) -> None:
        """Release a slot once an export has ended."""
        self._free += 1

    async def pace(self, rows: int) -> None:
        """Wait for this chunk's turn: chunks of all exports follow each other at `rows_per_second` lines."""
        now = self._clock()
        start = max(now, self._next)
        self._next = start + rows / self._rate
        if start > now:
            await self._sleep(start - now)
