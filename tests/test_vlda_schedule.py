"""The VLDA step/stage state machine."""

from __future__ import annotations

import pytest

from toonlift.errors import CheckpointError, ConfigError
from toonlift.stages.vlda.schedule import Schedule, ScheduleState


def _run(schedule: Schedule, n_images: int) -> tuple[list[tuple[int, str, int]], list[str]]:
    state = ScheduleState()
    state.skip_empty(schedule)
    trace, events = [], []
    while state.phase != "done":
        trace.append((state.image, state.phase, state.stage))
        events += state.advance(schedule, n_images)
    return trace, events


def test_reference_counts() -> None:
    s = Schedule()
    assert s.iterations_per_image() == 4600 + 1000
    trace, events = _run(s, 1)
    assert len(trace) == 5600
    assert sum(1 for t in trace if t == (0, "step2", 0)) == 600
    assert sum(1 for t in trace if t == (0, "step3", 3)) == 300
    assert events.count("collect") == 4 and events.count("stage_done") == 4
    assert events[-2:] == ["image_done", "all_done"]


def test_order_and_two_images() -> None:
    s = Schedule(first=(2, 1, 1), later=(1, 1, 1), num_stages=2, init_iters=1)
    trace, events = _run(s, 2)
    one = [
        ("init", 0),
        ("step1", 0),
        ("step1", 0),
        ("step2", 0),
        ("step3", 0),
        ("step1", 1),
        ("step2", 1),
        ("step3", 1),
    ]
    assert trace == [(0, p, st) for p, st in one] + [(1, p, st) for p, st in one]
    assert events.count("enter:init") == 1 and events.count("image_done") == 2


def test_zero_init_and_resume_round_trip() -> None:
    s = Schedule(first=(1, 1, 1), later=(1, 1, 1), num_stages=1, init_iters=0)
    state = ScheduleState()
    state.skip_empty(s)
    assert state.phase == "step1"
    state.advance(s, 1)
    again = ScheduleState.from_state_dict(state.state_dict())
    assert again == state and again.phase == "step2"
    with pytest.raises(CheckpointError):
        ScheduleState.from_state_dict({"phase": "nope"})
    with pytest.raises(ConfigError):
        Schedule(first=(0, 1, 1))
