"""Run the alerts service: `python -m services.alerts`."""

import asyncio
import contextlib

from services.alerts.consumer import main

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
