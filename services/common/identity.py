"""Resident ID numbers (GB 11643): check digit validation and keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
PSEUDONYM_PREFIX = "psn_"
# Anything that looks like a resident ID inside free text (used to scrub dead letters and logs).
RESIDENT_ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# 18 characters shaped like a resident ID: region (first digit 1-8), a birth date in 1900-2099, sequence, check.
_RESIDENT_ID = re.compile(
    r"(?<![0-9])([1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3})([0-9Xx])(?![0-9])"
)


class InvalidResidentId(ValueError):
    """The value is not an 18-character resident ID with a valid GB 11643 check digit."""


def check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_resident_id(value: str) -> str:
    """Return the normalised ID (upper-case X) or raise InvalidResidentId saying why."""
    normalised = value.strip().upper()
    if not _SHAPE.match(normalised):
        raise InvalidResidentId("must be 18 characters: 17 digits and a digit or X")
    if check_digit(normalised[:17]) != normalised[17]:
        raise InvalidResidentId("check digit does not match (GB 11643)")
    return normalised


def pseudonymise(resident_id: str, key: bytes) -> str:
    """Return the keyed pseudonym (HMAC-SHA256) that stands for a valid resident ID."""
    digest = hmac.new(key, validate_resident_id(resident_id).encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:40]


def scrub_resident_ids(text: str) -> str:
    """Mask every resident-ID-shaped run of characters in free text."""
    return RESIDENT_ID_PATTERN.sub("[resident-id removed]", text)


def holds_resident_id(text: str) -> bool:
    """True when `text` (also in fullwidth digits or broken up by invisible characters) carries a resident ID."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return any(check_digit(m.group(1)) == m.group(2).upper() for m in _RESIDENT_ID.finditer(text))
