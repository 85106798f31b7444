"""Command line for admins: `python -m services.regions import FILE` (names into the directory), `… name CODE…`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from redis.asyncio import Redis
from rich.console import Console

from services.common.spreadsheets import spreadsheet_writer
from services.regions.directory import RegionDirectory
from services.regions.importer import import_file

app = typer.Typer(help="Shouwang region directory.", no_args_is_help=True)
RedisUrl = Annotated[str, typer.Option(envvar="REDIS_URL")]


@app.callback()
def main() -> None:
    """Shouwang region directory."""


@app.command("import")
def import_names(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV code,name (UTF-8, optional header)")],
    jurisdiction: Annotated[str, typer.Option(help="refuse rows outside this prefix (default: none)")] = "",
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
) -> None:
    """Import township and village names (and county overrides); rerun the same command to resume."""
    record, rejects = asyncio.run(_import(redis_url, file, jurisdiction))
    console = Console()
    console.print({key: record.get(key) for key in ("id", "status", "changed", "unchanged", "rejected", "error")})
    report = file.with_name(file.name + ".rejects.csv")
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = spreadsheet_writer(handle)
        writer.writerow(["line", "code", "reason"])
        writer.writerows([r["line"], r["code"], r["reason"]] for r in rejects)
    if rejects:
        console.print(f"rejected rows are listed in {report.name}")
    if record.get("status") != "done":
        raise typer.Exit(1)


async def _import(redis_url: str, file: Path, jurisdiction: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return await import_file(redis, file, jurisdiction, "cli")
    finally:
        await redis.aclose()


@app.command("name")
def show_names(
    codes: Annotated[list[str], typer.Argument(help="region codes")], redis_url: RedisUrl = "redis://127.0.0.1:6379/0"
) -> None:
    """Print how each code is shown and its full name."""
    for place in asyncio.run(_describe(redis_url, codes)):
        print(f"{place.code}\t{place.name}\t{place.full_name}")


async def _describe(redis_url: str, codes: list[str]) -> list[Any]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RegionDirectory(redis).describe(codes)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    app()
