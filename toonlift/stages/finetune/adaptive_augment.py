"""The stateful half of ADA: the augmentation probability ``p`` and its feedback controller.

The pure ops live in :mod:`toonlift.functional.augment`. ``p`` is a buffer, so it is saved in every checkpoint and a
resumed run continues with the same ``p`` (stylegan2-ada issue #106: ``p`` restarting from 0 after resume).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.augment import ada_adjustment, augment
from toonlift.utils import checks


class AdaptiveAugment(nn.Module):
    """Augment real and fake images before D, steering ``p`` so that ``E[sign(D(real))]`` tracks ``target``.

    Args:
        enabled: off: :meth:`forward` is the identity and ``p`` stays 0.
        target: the wanted ``r_t = E[sign(D(x_real))]`` (0.6 in ADA).
        initial_p: starting probability.
        fixed_p: keep ``p`` at this value instead of adapting it (ADA ``--aug=fixed``).
        interval: adjust ``p`` every this many iterations (ADA: 4).
        speed_images: real images for ``p`` to move from 0 to 1 (ADA ``ada_kimg=500`` -> 500000).
        max_p: upper bound of ``p`` (below 1 keeps the ops non-leaking).
        xflip: enable x-flips.
        rotate90: enable 90-degree rotations.
        translate: enable integer translation.
        brightness: enable brightness.
        contrast: enable contrast.
        saturation: enable saturation.
        cutout: enable cutout.
    """

    def __init__(
        self,
        enabled: bool = True,
        target: float = 0.6,
        initial_p: float = 0.0,
        fixed_p: float | None = None,
        interval: int = 4,
        speed_images: float = 500_000,
        max_p: float = 0.99,
        xflip: bool = True,
        rotate90: bool = True,
        translate: bool = True,
        brightness: bool = True,
        contrast: bool = True,
        saturation: bool = True,
        cutout: bool = True,
    ) -> None:
        super().__init__()
        if interval < 1 or speed_images <= 0:
            raise ConfigError(
                f"AdaptiveAugment: interval must be >= 1 and speed_images > 0 ({interval}, {speed_images})"
            )
        checks.unit_interval("AdaptiveAugment", "target", target)
        for name, value in (("initial_p", initial_p), ("fixed_p", fixed_p), ("max_p", max_p)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"AdaptiveAugment: {name} must be in [0, 1], got {value}.")
        self.enabled = enabled
        self.target = target
        self.fixed = fixed_p is not None
        self.interval = interval
        self.speed_images = speed_images
        self.max_p = max_p
        self.ops = {
            "xflip": xflip,
            "rotate90": rotate90,
            "translate": translate,
            "brightness": brightness,
            "contrast": contrast,
            "saturation": saturation,
            "cutout": cutout,
        }
        start = (fixed_p if fixed_p is not None else initial_p) if enabled else 0.0
        self.register_buffer("p", torch.tensor(float(start), dtype=torch.float64))
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("r_t", torch.zeros((), dtype=torch.float64))

    @property
    def probability(self) -> float:
        """The current ``p``."""
        return float(self.p)

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment ``[B, C, H, W]`` images with the current ``p`` (identity when disabled or ``p == 0``)."""
        if not self.enabled:
            return images
        return augment(images, self.probability, generator, **self.ops)

    @torch.no_grad()
    def accumulate(self, real_logits: Tensor) -> None:
        """Add the signs of D's logits on (augmented) real images ``[B, 1]`` to the running statistic."""
        if not self.enabled or self.fixed:
            return
        self.sign_sum += real_logits.detach().sign().sum().double()
        self.count += real_logits.numel()

    @torch.no_grad()
    def step(self, iteration: int, reduce_sum: Callable[[Tensor], Tensor] | None = None) -> None:
        """Every ``interval`` iterations: ``p += sign(r_t - target) * images / speed_images``.

        Args:
            iteration: iterations completed (after this one).
            reduce_sum: sums a tensor over ranks (DDP), so every rank computes the same ``p``. It is a collective
                call: every rank must call :meth:`step` at the same iterations (they do, in lock step).
        """
        if not self.enabled or self.fixed or iteration % self.interval != 0:
            return
        stats = torch.stack([self.sign_sum, self.count])
        if reduce_sum is not None:
            stats = reduce_sum(stats)
        sign_sum, count = float(stats[0]), float(stats[1])
        if count > 0:
            self.r_t.fill_(sign_sum / count)
            new_p = self.probability + ada_adjustment(sign_sum / count, self.target, int(count), self.speed_images)
            self.p.fill_(min(max(new_p, 0.0), self.max_p))
        self.sign_sum.zero_()
        self.count.zero_()
