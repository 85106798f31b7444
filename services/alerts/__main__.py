"""Run the alerts service: `python -m services.alerts`; rebuild its Redis from Kafka: `... rebuild`."""

import asyncio
import contextlib

import typer

from services.alerts import process, rebuild

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help=__doc__)


@app.callback(invoke_without_command=True)
def run(context: typer.Context) -> None:
    """Run the alerts service (without a command)."""
    if context.invoked_subcommand is None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(process.main())


@app.command("rebuild")
def rebuild_projection() -> None:
    """Rebuild the alerts' Redis projection from the `scores` and `alerts.changes` topics."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(rebuild.main())


if __name__ == "__main__":
    app(prog_name="python -m services.alerts")
