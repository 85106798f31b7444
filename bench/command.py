"""The bench's command lines: typer commands whose return value is the process's exit status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import typer

from services.common.command_line import refused


def exit_with(function: Callable[..., int | None]) -> NoReturn:
    """Run `function` as a typer command (its parameters are the options) and exit with what it returns."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=function.__doc__)(function)
    try:
        status = typer.main.get_command(app).main(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # a usage error: said as typer says it, exit status 2
        sys.exit(refused(exc))
    sys.exit(status if isinstance(status, int) else 0)
