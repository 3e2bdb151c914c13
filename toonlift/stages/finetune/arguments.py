"""What :class:`~toonlift.stages.finetune.module.FinetuneModule` accepts, checked at construction.

Kept apart from the training loop so each file holds one idea. Every check raises one
:class:`~toonlift.errors.ConfigError` naming the setting and the fix, before any network is copied or trained.
"""

from __future__ import annotations

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import Exportable, FeatureTaps, FreezableBlocks, require
from toonlift.plugins.discriminators.base import Discriminator
from toonlift.plugins.losses.base import Loss
from toonlift.utils import checks


def check_arguments(
    generator: Backbone,
    discriminator: Discriminator,
    r1: Loss,
    structure: Loss,
    path_length: Loss,
    *,
    keep_base: bool,
    freeze_d: int,
    style_mixing: float,
    max_iterations: int,
    lr: float,
    betas: tuple[float, float],
    ema_decay: float | None,
    ema_half_life_images: float | None,
    num_grid_samples: int,
    metric_batch_size: int | None,
) -> None:
    """Refuse options out of range and networks without the capabilities the chosen options need.

    Args:
        generator: the generator to train; must be ``Exportable``, and offer ``FeatureTaps`` when ``structure`` is on.
        discriminator: its discriminator; must be ``Exportable``, offer ``FreezableBlocks`` when ``freeze_d > 0``,
            and, when camera-conditioned, take the generator's camera size.
        r1: the R1 loss (when enabled it needs an ``interval``, its lazy period).
        structure: the structure loss (when enabled it needs ``keep_base``).
        path_length: the path-length loss (when enabled it needs an ``interval``).
        keep_base, freeze_d, style_mixing, max_iterations, lr, betas, ema_decay, ema_half_life_images,
            num_grid_samples, metric_batch_size: the module's arguments of those names.

    Raises:
        ConfigError: naming the first setting that is out of range or the capability that is missing.
    """
    for name, loss, needed in (("r1", r1, "interval"), ("path_length", path_length, "interval")):
        if loss.enabled and not hasattr(loss, needed):
            raise ConfigError(f"FinetuneModule: the {name} loss must have an '{needed}' attribute (lazy period).")
    if structure.enabled and not keep_base:
        raise ConfigError(
            "FinetuneModule: the structure loss compares against G_base, so it needs keep_base: true "
            "(or set structure.init_args.weight: 0 to train from scratch)."
        )
    owner = "FinetuneModule"
    checks.unit_interval(owner, "style_mixing", style_mixing)
    checks.at_least(owner, "max_iterations", max_iterations, 1)
    checks.positive(owner, "lr", lr)
    if len(betas) != 2:
        raise ConfigError(f"FinetuneModule: betas must be two numbers (beta1, beta2), got {betas!r}.")
    for i, beta in enumerate(betas):
        checks.unit_interval(owner, f"betas[{i}]", beta, closed_right=False)
    if ema_decay is not None:
        checks.unit_interval(owner, "ema_decay", ema_decay, closed_right=False)
    if ema_half_life_images is not None:
        checks.positive(owner, "ema_half_life_images", ema_half_life_images)
    checks.at_least(owner, "num_grid_samples", num_grid_samples, 0)
    if metric_batch_size is not None:
        checks.at_least(owner, "metric_batch_size", metric_batch_size, 1)
    stage = "Stage 1 (FinetuneModule)"
    require(generator, Exportable, stage=stage)
    require(discriminator, Exportable, stage=stage, role="discriminator")
    if structure.enabled:
        require(generator, FeatureTaps, stage=f"{stage} with the structure loss")
    if freeze_d:
        require(discriminator, FreezableBlocks, stage=f"{stage} with freeze_d", role="discriminator")
    if discriminator.cond_dim and discriminator.cond_dim != generator.cond_dim:
        raise ConfigError(
            f"{stage}: the discriminator is conditioned on {discriminator.cond_dim} numbers but the generator's "
            f"camera has {generator.cond_dim}; pair a camera-conditioned discriminator with its generator."
        )
