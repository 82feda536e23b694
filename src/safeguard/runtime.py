"""Process-level settings for the long-running services (`serve`, `worker`)."""

from __future__ import annotations

import gc

# Container allocations (net of frees) between young-generation collections.
# CPython's default, 700, is reached every few requests here: a batch builds
# a few thousand short-lived objects (parsed requests, restored conversation
# states), so the collector ran about every 5 messages and promoted whatever
# was still in flight, which then made the older generations' passes run too
# (about 6% of a loaded server's CPU). At 20,000 nearly all of a batch's objects
# are freed by reference counting before a collection starts; cyclic garbage
# waits a little longer, a bounded amount of memory.
YOUNG_GENERATION_THRESHOLD = 20_000


def freeze_startup_objects() -> None:
    """Keep the objects built at start-up out of the garbage collector's full passes,
    and collect the young generation less often (``YOUNG_GENERATION_THRESHOLD``).

    A loaded service holds ~150,000 container objects (detector lexicon,
    schemas, SQL metadata) that live as long as the process; a full collection
    walks all of them (about 60 ms here) at unpredictable moments under load,
    which is what a request's p99 latency then shows. ``gc.freeze`` moves them
    to a permanent generation that collections skip; objects made later are
    collected as usual.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
