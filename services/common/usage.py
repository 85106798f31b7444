"""`--help` for the processes that take no arguments (the services, Kafka provisioning): the docs' commands are
checked with `--help`, which must answer before a setting is read or a connection made."""

from __future__ import annotations

import inspect
import sys


def answer_help(doc: str | None) -> None:
    """With `--help` or `-h` as the only argument, print `doc` (the module's docstring) and exit 0."""
    if sys.argv[1:] in (["--help"], ["-h"]):
        print(inspect.cleandoc(doc or ""))
        print("\nSettings: environment variables, see docs/operators.md#configuration.")
        raise SystemExit(0)
