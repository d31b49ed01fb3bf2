"""Garbage-collection pauses timed per generation, and the collector's settings for serving."""

import gc
from collections.abc import Iterator

import pytest

from server.collector import THRESHOLDS, GcPauses, tune_for_serving


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_every_collection_is_timed_by_generation() -> None:
    pauses = GcPauses()
    pauses.start()
    try:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    finally:
        pauses.stop()
    gc.collect(1)  # after stop: not counted
    assert pauses.count[0] >= 1 and pauses.count[2] == 2 and pauses.count[1] == 0
    assert 0 < pauses.max_s[2] <= pauses.total_s[2]
    assert pauses.max_cpu_s[2] > 0
    lines = pauses.render()
    assert 'croupier_gc_pause_seconds_count{generation="2"} 2' in lines
    assert f'croupier_gc_pause_max_seconds{{generation="2"}} {pauses.max_s[2]:.6f}' in lines
    cpu = f'croupier_gc_pause_max_cpu_seconds{{generation="2"}} {pauses.max_cpu_s[2]:.6f}'
    assert cpu in lines


def test_serving_freezes_start_up_objects_and_makes_full_collections_rare(
    restored_collector: None,
) -> None:
    made_at_start_up = {"a": []}
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == THRESHOLDS
    scanned = {id(o) for o in gc.get_objects()}
    assert id(made_at_start_up) not in scanned, "frozen: no collection scans it"
    made_later = {"b": []}
    assert id(made_later) in {id(o) for o in gc.get_objects()}
