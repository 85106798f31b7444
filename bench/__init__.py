"""`make bench`: throughput, latency and memory of the whole pipeline on a private broker and Redis."""
