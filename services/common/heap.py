"""The garbage collector of a long-running service: what startup built is frozen, young objects are collected less
often.

Measured on the API (`BENCH_PHASES=api make bench`): with Python's defaults, full collections scanned the ~145,000
objects of the imported modules and schemas (~300,000 with 500 live streams open) and paused the process for
100–270 ms each, the p99 of GET /alerts. Frozen objects are left out of every collection (they are still freed when
nothing refers to them); a higher young-generation threshold promotes fewer objects of requests in flight, so full
collections come far less often.
"""

import gc


def settle_heap(young_threshold: int) -> None:
    """Collect once, freeze the survivors (startup's objects) and set the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
