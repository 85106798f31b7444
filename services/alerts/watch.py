"""The deadline watch: the loop in the alerts service that fires reminders and overdue flags."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from services.alerts.changes import ChangeLog
from services.alerts.deadlines import deadline_change
from services.alerts.store import AlertStore

log = logging.getLogger(__name__)


class DeadlineWatch:
    """Every `interval` seconds, fires the reminders and overdue flags that have fallen due."""

    def __init__(self, store: AlertStore, changes: ChangeLog, interval: float):
        self._store = store
        self._changes = changes
        self._interval = interval

    async def check(self, now: datetime) -> int:
        """One pass; returns how many alerts changed (a stale one is left for the next pass)."""
        changed = 0
        for alert_id in await self._store.due_for_check(now):
            alert = await self._store.get(alert_id)
            update = deadline_change(alert, now) if alert else None
            if update is not None and await self._changes.commit(update, update.history[-1].change, "system", now):
                changed += 1
        return changed

    async def run(self) -> None:
        """Check until cancelled; a failed pass is logged and retried at the next interval."""
        while True:
            try:
                await self.check(datetime.now(UTC))
            except Exception:  # noqa: BLE001 - a Redis or Kafka outage must not stop the watch
                log.exception("deadline check failed")
            await asyncio.sleep(self._interval)
