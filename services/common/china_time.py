"""China time: UTC+8 all year (no daylight saving), the time the policy's months, days and deadlines are counted in."""

from datetime import timedelta, timezone

CHINA = timezone(timedelta(hours=8))
