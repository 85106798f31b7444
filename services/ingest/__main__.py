"""Run the ingest service: `python -m services.ingest`."""

import uvicorn

from services.common.heap import settle_heap
from services.common.settings import IngestSettings
from services.common.usage import answer_help
from services.ingest.app import create_app

if __name__ == "__main__":
    answer_help(__doc__)
    settings = IngestSettings()  # type: ignore[call-arg]
    app = create_app(settings)
    settle_heap(settings.gc_young_threshold)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.ingest_port,
        log_config=None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
