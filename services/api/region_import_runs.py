"""The names imports running in this API process: each uploaded file is imported by a task of its own, and an import a
stopped API left unfinished is resumed at the next start (it goes on after its last batch)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from services.regions.importer import RegionImports


class RegionImportRuns:
    """The import jobs (in Redis), the folder their uploads wait in, and the tasks running them here."""

    def __init__(self, jobs: RegionImports, folder: Path, upload_bytes: int):
        self.jobs, self.folder, self.upload_bytes = jobs, folder, upload_bytes
        self._tasks: set[asyncio.Task[None]] = set()

    def upload_path(self, job_id: str) -> Path:
        """Where the job's uploaded file waits until it has been imported."""
        return self.folder / f"{job_id}.csv"

    def start(self, job_id: str, path: Path) -> None:
        """Import the file in a task of this process; a done or failed file is removed (a new import uploads it)."""

        async def run() -> None:
            record: dict[str, Any] = await self.jobs.run(job_id, path)
            if record.get("status") in ("done", "failed"):
                path.unlink(missing_ok=True)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> None:
        """Restart the uploaded imports a stopped API left queued or running."""
        for record in await self.jobs.unfinished():
            path = self.upload_path(record["id"])
            if path.is_file():
                self.start(record["id"], path)

    async def stop(self) -> None:
        """Cancel the running imports: each resumes at the next start."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
