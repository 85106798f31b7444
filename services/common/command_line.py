"""What every typer command line does with a refused invocation."""

from __future__ import annotations

import sys

import typer


def refused(exc: typer.TyperException) -> int:
    """Say why a command line was refused (on stderr, as typer says it) and return its exit status (2 for usage)."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        print(f"error: {exc}", file=sys.stderr)
    return int(getattr(exc, "exit_code", 2))
