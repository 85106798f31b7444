"""The password policy: long enough, not a common password (zxcvbn's list of 30,000), not the username, and hard
enough to guess by zxcvbn's estimate (which also sees through sequences, repeats and keyboard walks)."""

from __future__ import annotations

import asyncio
from functools import cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

SCORED = 72  # zxcvbn's own limit: the first 72 characters are scored (more can only add strength)


@cache
def _common() -> frozenset[str]:
    return frozenset(password.lower() for password in FREQUENCY_LISTS["passwords"])


class PasswordPolicy:
    """What a new password must meet (PASSWORD_MIN_LENGTH, PASSWORD_MIN_SCORE)."""

    def __init__(self, min_length: int, min_score: int):
        self.min_length = min_length
        self.min_score = min_score

    def refusal(self, password: str, username: str) -> str | None:
        """Why `password` may not be `username`'s (None: it may)."""
        if len(password) < self.min_length:
            return f"at least {self.min_length} characters"
        if password.lower() in _common():
            return "a common password: choose another"
        if username.lower() in password.lower():
            return "contains the username"
        score = zxcvbn(password[:SCORED], user_inputs=[username])["score"]
        if score < self.min_score:
            return f"too easy to guess (strength {score} of 4, at least {self.min_score} needed): a longer passphrase"
        return None

    async def check(self, password: str, username: str) -> str | None:
        """`refusal` on a thread (zxcvbn takes milliseconds on a long password)."""
        return await asyncio.to_thread(self.refusal, password, username)
