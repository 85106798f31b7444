"""Department files' imports (kind `import`, on the imports queue): ingest keeps the upload under IMPORT_DIR and queues
the job (`POST /imports`, services/ingest/imports.py); the jobs process sends its rows to ingest here, in batches with
JOBS_INGEST_KEY, each batch naming its job (`IMPORT_JOB_HEADER`), so ingest checks them against the uploader's grant
too. A killed jobs process leaves the job active without a heartbeat; the queue's sweep gives it to a worker again,
and the importer continues after its last acknowledged batch (`<file>.progress`), so every row counts once."""

from __future__ import annotations

import asyncio
import threading

from services.common.job_queues import in_daemon_thread
from services.common.job_records import JobFailed, JobRecord
from services.common.settings import JobsSettings
from services.ingest.importer import FileRefused, Importer
from services.ingest.imports import IMPORT_JOB_HEADER
from services.ingest.mapping import Mapping


class ImportStopped(Exception):
    """The jobs process is stopping: the import ends at a row boundary and resumes from its checkpoint."""


class FileImporter:
    """Runs one import job, resuming from its file's checkpoint."""

    def __init__(self, settings: JobsSettings):
        self._settings = settings

    async def run(self, record: JobRecord) -> dict[str, int]:
        """The job's work: import the uploaded file through ingest; its result is the file's counts."""
        key = self._settings.jobs_ingest_key
        if key is None:
            raise RuntimeError("JOBS_INGEST_KEY is not set: the jobs process has no key to send rows with")
        rules = Mapping.load(self._settings.import_mappings_dir / f"{record.request['mapping']}.toml")
        importer = Importer(
            rules,
            self._settings.ingest_url,
            key.get_secret_value(),
            rejects_kept=self._settings.import_rejects_kept,
            headers={IMPORT_JOB_HEADER: record.id},
        )
        path = self._settings.import_dir / record.id / record.request["file"]
        stop = threading.Event()

        def row_done(_: int) -> None:
            if stop.is_set():
                raise ImportStopped

        try:
            report = await in_daemon_thread(importer.run, path, row_done)
        except asyncio.CancelledError:
            stop.set()
            raise
        except FileRefused as exc:  # the same file would be refused again: the job ends here, failed
            raise JobFailed(str(exc)[:500], refused=True) from exc
        return report.as_dict()
