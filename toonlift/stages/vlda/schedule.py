"""The VLDA schedule as a small state machine (GAN2Shape ``trainer.py``), saved in checkpoints so runs resume.

Per image: ``init`` (the depth network is fitted to the ellipsoid prior), then ``num_stages`` stages of
``step1 -> step2 -> step3``, each step running exactly its number of iterations (stage 0 uses ``first``, later stages
``later``), then the next image. Leaving ``step2`` collects the projected samples; results are written after every
``step3`` and when an image is done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from toonlift.errors import CheckpointError, ConfigError

STEPS = ("step1", "step2", "step3")
PHASES = ("init", *STEPS, "done")


@dataclass(frozen=True)
class Schedule:
    """Iteration counts.

    Attributes:
        first: iterations of (step1, step2, step3) in stage 0 (reference 600/600/400).
        later: iterations of (step1, step2, step3) in stages 1.. (reference 200/500/300).
        num_stages: stages per image (reference 4).
        init_iters: ellipsoid pre-training iterations of the depth network (reference 1000).
    """

    first: tuple[int, int, int] = (600, 600, 400)
    later: tuple[int, int, int] = (200, 500, 300)
    num_stages: int = 4
    init_iters: int = 1000

    def __post_init__(self) -> None:
        if len(self.first) != 3 or len(self.later) != 3:
            raise ConfigError(f"a VLDA schedule needs 3 iteration counts per stage, got {self.first} / {self.later}")
        if min(*self.first, *self.later) < 1 or self.num_stages < 1 or self.init_iters < 0:
            raise ConfigError(
                f"VLDA schedule counts must be >= 1 (init_iters >= 0), got first={self.first}, later={self.later}, "
                f"num_stages={self.num_stages}, init_iters={self.init_iters}"
            )

    def length(self, phase: str, stage: int) -> int:
        """Iterations of ``phase`` in ``stage``."""
        if phase == "init":
            return self.init_iters
        return (self.first if stage == 0 else self.later)[STEPS.index(phase)]

    def iterations_per_image(self) -> int:
        """All iterations of one image (4600 + 1000 for the reference)."""
        return self.init_iters + sum(self.first) + (self.num_stages - 1) * sum(self.later)


@dataclass
class ScheduleState:
    """Where a run is: image index (within this rank's images), phase, stage, iteration within the phase."""

    image: int = 0
    phase: str = "init"
    stage: int = 0
    iteration: int = 0
    finished_images: list[int] = field(default_factory=list)

    def advance(self, schedule: Schedule, num_images: int) -> list[str]:
        """Count one finished iteration of the current phase and move on; returns the events that happened.

        Events: ``"enter:<phase>"`` (a new phase starts: fresh optimiser state), ``"collect"`` (step2 finished:
        gather projected samples), ``"stage_done"`` (a step3 finished), ``"image_done"``, ``"all_done"``.
        """
        if self.phase == "done":
            return ["all_done"]
        self.iteration += 1
        events: list[str] = []
        # skip empty phases (init_iters = 0) by looping until a phase with iterations left
        while self.phase != "done" and self.iteration >= schedule.length(self.phase, self.stage):
            self.iteration = 0
            if self.phase == "step2":
                events.append("collect")
            if self.phase == "step3":
                events.append("stage_done")
                self.stage += 1
                if self.stage >= schedule.num_stages:
                    events.append("image_done")
                    self.finished_images.append(self.image)
                    self.image += 1
                    self.stage = 0
                    self.phase = "init" if self.image < num_images else "done"
                    if self.phase == "done":
                        events.append("all_done")
                        break
                    events.append("enter:init")
                    continue
                self.phase = "step1"
            else:
                self.phase = STEPS[0] if self.phase == "init" else STEPS[STEPS.index(self.phase) + 1]
            events.append(f"enter:{self.phase}")
        return events

    def skip_empty(self, schedule: Schedule) -> None:
        """Leave an ``init`` phase of zero iterations (call before the first iteration)."""
        if self.phase == "init" and schedule.init_iters == 0:
            self.phase = "step1"

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict) -> ScheduleState:
        try:
            out = cls(**state)
        except TypeError as err:
            raise CheckpointError(f"The checkpoint's VLDA schedule state is malformed ({err}).") from err
        if out.phase not in PHASES:
            raise CheckpointError(f"The checkpoint's VLDA phase '{out.phase}' is not one of {PHASES}.")
        return out
