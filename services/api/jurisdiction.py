"""Jurisdiction, decided in one place: a member of staff's region-code prefix (`53` a province, `532328` a county,
`532328101` a township; `""` the whole country) and what it covers. Every route applies these rules through the
dependencies of permissions.py (who may) and scoped.py (the resource, loaded already scoped); nothing else compares
region codes.
"""

from __future__ import annotations

from fastapi import HTTPException

from services.api.users import Role, User

NATIONAL = ""


def covers(jurisdiction: str, region_code: str) -> bool:
    """True when the region (a code or a prefix) lies inside the jurisdiction (a prefix)."""
    return region_code.startswith(jurisdiction)


class Caller(User):
    """The signed-in user with the rules of their jurisdiction."""

    @property
    def national(self) -> bool:
        """True when the jurisdiction is the whole country."""
        return self.region_code == NATIONAL

    def covers(self, region_code: str) -> bool:
        """True when the region (a code or a prefix) lies inside the jurisdiction."""
        return covers(self.region_code, region_code)

    def require(self, region_code: str, what: str) -> None:
        """403 naming `what` unless the region lies inside the jurisdiction."""
        if not self.covers(region_code):
            raise HTTPException(403, f"{what} is outside your jurisdiction {self.region_code or '(all)'}")

    def narrow(self, region_code: str | None) -> str:
        """The narrower of a requested prefix and the jurisdiction; 403 when they do not overlap."""
        if region_code is None or covers(region_code, self.region_code):
            return self.region_code
        self.require(region_code, f"region_code {region_code}")
        return region_code

    def reads_entry_about(self, region: str | None) -> bool:
        """Whether an audit entry about `region` is the caller's to read: inside the jurisdiction; an entry naming no
        region (written before regions were recorded), national callers only."""
        return self.national or (region is not None and self.covers(region))

    def management_refusal(self, role: Role, region_code: str) -> str | None:
        """Why this admin may not manage an account of `role` in `region_code` (None: they may).

        Admins manage admins of strictly narrower jurisdictions, and other accounts inside their own."""
        if not self.covers(region_code):
            return f"region_code {region_code or '(all)'} is outside your jurisdiction {self.region_code or '(all)'}"
        if role == "admin" and len(region_code) <= len(self.region_code):
            return (
                f"an admin manages admins of strictly narrower jurisdictions only: {region_code or '(all)'} "
                f"is not narrower than yours, {self.region_code or '(all)'}"
            )
        return None
