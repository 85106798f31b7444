"""The jurisdiction rules a route applies to what it reads or changes (services/api/permissions.py)."""

from datetime import UTC, datetime

import pytest
from fastapi import HTTPException

from services.api.permissions import Caller, HasRole, Nationwide, Permissions
from services.api.users import User


def caller(region_code: str, role: str = "admin") -> Caller:
    user = User(username="someone", role=role, region_code=region_code, created_at=datetime.now(UTC))  # type: ignore[arg-type]
    return Permissions().admit(user)


def test_a_jurisdiction_covers_its_own_region_and_everything_under_it_and_nothing_else():
    county = caller("532328")
    assert county.covers("532328") and county.covers("532328101001") and county.covers("5323281")
    assert not county.covers("532329101001") and not county.covers("5323") and not county.covers("")


def test_the_national_jurisdiction_is_the_empty_prefix_and_covers_every_region():
    assert caller("").national and caller("").covers("110101001001") and caller("").covers("")
    assert not caller("53").national


def test_a_requested_region_narrows_the_jurisdiction_and_one_outside_it_is_refused_with_403():
    county = caller("532328")
    assert (county.narrow(None), county.narrow("53"), county.narrow("532328101")) == ("532328", "532328", "532328101")
    with pytest.raises(HTTPException) as refused:
        county.narrow("532329")
    assert (
        refused.value.status_code == 403 and "region_code 532329 is outside your jurisdiction" in refused.value.detail
    )


def test_an_admin_manages_admins_of_strictly_narrower_jurisdictions_only():
    province = caller("53")
    assert province.management_refusal("admin", "5323") is None
    assert "strictly narrower" in (province.management_refusal("admin", "53") or "")
    assert "outside your jurisdiction" in (province.management_refusal("admin", "52") or "")
    assert caller("").management_refusal("admin", "") is not None  # not even the national admin's peers


def test_an_admin_manages_other_accounts_inside_their_own_jurisdiction():
    province = caller("53")
    for role in ("township_worker", "county_supervisor", "analyst"):
        assert province.management_refusal(role, "53") is None  # type: ignore[arg-type]
        assert province.management_refusal(role, "532328101") is None  # type: ignore[arg-type]
        assert province.management_refusal(role, "") is not None  # type: ignore[arg-type]
    assert caller("").management_refusal("analyst", "") is None


def test_a_permission_refuses_with_403_naming_what_is_missing():
    analyst = User(username="ana", role="analyst", region_code="5323", created_at=datetime.now(UTC))
    assert Permissions(HasRole("analyst")).admit(analyst).region_code == "5323"
    for permissions, why in (
        (Permissions(HasRole("admin")), "needs the role admin; you are analyst"),
        (Permissions(HasRole("analyst"), Nationwide()), "needs a national jurisdiction; yours is 5323"),
    ):
        with pytest.raises(HTTPException) as refused:
            permissions.admit(analyst)
        assert refused.value.status_code == 403 and why in refused.value.detail
