"""Run the API: `python -m services.api`."""

import uvicorn

from services.api.app import create_app
from services.common.heap import settle_heap
from services.common.settings import ApiSettings
from services.common.usage import answer_help

if __name__ == "__main__":
    answer_help(__doc__)
    settings = ApiSettings()  # type: ignore[call-arg]
    app = create_app(settings)
    settle_heap(settings.gc_young_threshold)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.api_port,
        log_config=None,
        server_header=False,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
