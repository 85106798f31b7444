"""Policy configuration: versioned TOML files per year, values overridden by region-code prefix."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

Prefix = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]


class PolicyError(ValueError):
    """A policy file is unusable; the message names the file, the key and the reason."""


class PolicyValues(BaseModel):
    """Every figure the rules use; the `default` table of a policy file must set them all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monitoring_line: Decimal = Field(gt=0, description="yuan of net income per person per year")
    identification_days: int = Field(gt=0, description="days from discovery to a decision on inclusion")


class RegionOverride(BaseModel):
    """Values a region changes; anything left out comes from a shorter prefix or the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monitoring_line: Decimal | None = Field(default=None, gt=0)
    identification_days: int | None = Field(default=None, gt=0)


class PolicyFile(BaseModel):
    """One year's policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    year: int = Field(ge=2000, le=2100)
    default: PolicyValues
    regions: dict[Prefix, RegionOverride] = Field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The values in force for one region and year, and where they came from."""

    version: str
    values: PolicyValues


class PolicyBook:
    """All policy files; answers which values apply to a region in a year."""

    def __init__(self, files: list[PolicyFile]):
        if not files:
            raise PolicyError("no policy files found")
        self._files = sorted(files, key=lambda f: f.year)

    @classmethod
    def load(cls, folder: Path) -> PolicyBook:
        """Read and check every `*.toml` in `folder`; raise PolicyError on the first bad one."""
        files = [_read(path) for path in sorted(folder.glob("*.toml"))]
        years = [f.year for f in files]
        duplicated = {y for y in years if years.count(y) > 1}
        if duplicated:
            raise PolicyError(f"{folder}: more than one policy file for year {min(duplicated)}")
        if not files:
            raise PolicyError(f"{folder}: no *.toml policy files")
        return cls(files)

    def for_region(self, region_code: str, year: int) -> Policy:
        """Values for `region_code` in `year`: the latest file not after `year`, longest prefix winning."""
        candidates = [f for f in self._files if f.year <= year] or self._files[:1]
        chosen = candidates[-1]
        values = chosen.default.model_dump()
        for prefix in sorted(chosen.regions, key=len):
            if region_code.startswith(prefix):
                values.update(chosen.regions[prefix].model_dump(exclude_none=True))
        return Policy(version=chosen.version, values=PolicyValues(**values))


def _read(path: Path) -> PolicyFile:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return PolicyFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise PolicyError(f"{path}: {key}: {first['msg']}") from exc
