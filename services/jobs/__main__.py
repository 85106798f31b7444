"""Run the jobs process: `python -m services.jobs`."""

import asyncio
import contextlib

from services.jobs import worker

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(worker.main())
