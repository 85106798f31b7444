"""Run the jobs process: `python -m services.jobs`."""

import asyncio
import contextlib

from services.common.usage import answer_help
from services.jobs import worker

if __name__ == "__main__":
    answer_help(__doc__)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(worker.main())
