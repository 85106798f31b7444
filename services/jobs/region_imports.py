"""Names imports (kind `region_import`, on the imports queue): the API keeps the uploaded file in REGIONS_IMPORT_DIR and
queues the job (`POST /regions/import`); the jobs process imports it here from its record's last line on
(services/regions/importer.py), and removes a file once imported or refused (a new import uploads it again)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.common.job_records import JobFailed, JobRecord
from services.regions.importer import RegionImports, upload_path


class NamesImporter:
    """Imports the uploaded names files kept in `folder`."""

    def __init__(self, imports: RegionImports, folder: Path):
        self._imports, self._folder = imports, folder

    async def run(self, record: JobRecord) -> dict[str, Any]:
        """The job's work: import its file from the last line applied on."""
        path = upload_path(self._folder, record.id)
        try:
            result = await self._imports.apply(record, path)
        except JobFailed:
            path.unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)
        return result
