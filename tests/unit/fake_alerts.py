"""In-memory fakes of the alerts handlers' protocols (AlertReader, AlertWriter), for service-layer tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.alerts import Alert


@dataclass
class FakeAlerts:
    """Alerts by id, households by id, and the changes logged, applied as the projector would: in version order."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    households: dict[str, dict[str, Any]] = field(default_factory=dict)
    logged: list[tuple[str, str, str]] = field(default_factory=list)  # (alert id, kind, by)
    interloper: Alert | None = None  # a change that gets in after the next read, before the next commit

    async def get(self, alert_id: str) -> Alert | None:
        """The alert as stored."""
        return self.alerts.get(alert_id)

    async def household(self, household_id: str) -> dict[str, Any] | None:
        """The household's figures and timeline."""
        return self.households.get(household_id)

    async def commit(self, alert: Alert, kind: str, by: str, at: datetime) -> bool:
        """Apply `alert` if the stored one is its predecessor."""
        if self.interloper is not None:
            self.alerts[self.interloper.id], self.interloper = self.interloper, None
        if self.alerts[alert.id].version != alert.version - 1:
            return False
        self.alerts[alert.id] = alert
        self.logged.append((alert.id, kind, by))
        return True


@dataclass(frozen=True)
class Staffer:
    """A member of staff with a role and a jurisdiction (a region code prefix)."""

    username: str
    role: str
    region_code: str

    def covers(self, region_code: str) -> bool:
        """Whether the region lies inside the jurisdiction."""
        return region_code.startswith(self.region_code)
