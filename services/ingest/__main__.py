"""Run the ingest service: `python -m services.ingest`."""

import uvicorn

from services.common.settings import IngestSettings
from services.ingest.app import create_app

if __name__ == "__main__":
    settings = IngestSettings()  # type: ignore[call-arg]
    uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.ingest_port, log_config=None)
