"""Run the alerts service: `python -m services.alerts`; rebuild its Redis from Kafka: `... rebuild`."""

import asyncio
import contextlib
import sys

from services.alerts import rebuild, service

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(rebuild.main() if sys.argv[1:] == ["rebuild"] else service.main())
