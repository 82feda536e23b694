"""Process settings of the long-running services."""

from __future__ import annotations

import gc
import weakref

from safeguard.runtime import YOUNG_GENERATION_THRESHOLD, freeze_startup_objects


class _Node:
    partner: _Node | None = None


def test_startup_objects_frozen_and_young_generation_collected_less_often() -> None:
    before = gc.get_threshold()
    startup = [{"kept": i} for i in range(1000)]
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(startup)
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
        cycle = _Node()
        cycle.partner = cycle  # garbage made after start-up is still collected
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
