"""Command line for department staff: `python -m services.ingest.cli import FILE --mapping MAPPING.toml`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from redis.asyncio import Redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.common.settings import IngestAddress
from services.ingest.importer import REJECTS_KEPT, Importer, WorkbookTooLarge
from services.ingest.mapping import Mapping
from services.ingest.persons import PersonIndex

app = typer.Typer(help="Shouwang ingest tools.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Shouwang ingest tools."""


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, JSONL or XLSX file")],
    mapping: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the department's mapping (TOML)")],
    ingest_url: Annotated[
        str, typer.Option(envvar="INGEST_URL", help="default: ingest on this host's INGEST_PORT")
    ] = "",
    key: Annotated[str, typer.Option(envvar="INGEST_KEY", help="an ingest key allowed for the mapping's source")] = "",
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 1000,
    rejects_kept: Annotated[
        int, typer.Option(envvar="IMPORT_REJECTS_KEPT", min=1, help="lines the rejects report lists at most")
    ] = REJECTS_KEPT,
) -> None:
    """Import a department file; rerun the same command to resume an interrupted import."""
    url = ingest_url or f"http://127.0.0.1:{IngestAddress().ingest_port}"
    importer = Importer(Mapping.load(mapping), url, key, batch_size, rejects_kept=rejects_kept)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console()
    with Progress(*columns) as progress:
        task = progress.add_task(f"importing {file.name}", total=None)
        try:
            report = importer.run(file, lambda n: progress.advance(task, n))
        except WorkbookTooLarge as exc:
            console.print(f"refused: {exc}")
            raise typer.Exit(1) from exc
    console.print(report.as_dict())
    if report.rejected:
        console.print(f"rejected rows are listed in {file.name}.rejects.csv")


@app.command("unmatched")
def unmatched_report(
    county: Annotated[str, typer.Argument(help="6-digit county code")],
    redis_url: Annotated[str, typer.Option(envvar="REDIS_URL")] = "redis://127.0.0.1:6379/0",
) -> None:
    """List the people of a county whose records match no registered household yet (pseudonyms only)."""
    people = asyncio.run(_unmatched(redis_url, county))
    table = Table("person (pseudonym)", "records kept", title=f"unmatched people in county {county}")
    for person, records in people.items():
        table.add_row(person, str(records))
    Console().print(table)


async def _unmatched(redis_url: str, county: str) -> dict[str, int]:
    redis = Redis.from_url(redis_url)
    try:
        return await PersonIndex(redis).unmatched_in_county(county)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    app()
