"""3DArtmator's style-directional difference loss as a plugin (registry name ``directional``).

The encoder is any registered feature extractor (``toonlift.feature_extractors``: the analyser's pooled features,
its Gram/statistics variant, dlib's descriptor, or a user's CLIP): its ``[B, F]`` output is the space in which the
stylised-minus-original difference is compared with the exemplar's direction (``functional.directional``). The
spatial perceptual term of 3DArtmator's Eq. 8 (``L_spa``, exemplar vs the stylised view at the exemplar's camera) is a
separate term: ``analyser_perceptual`` (or ``lpips`` with user weights), weighted by the caller (paper: λ3 = λ4 = 1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.augment import random_translate_int, random_xflip
from toonlift.functional.directional import directional_loss, feature_direction
from toonlift.plugins.losses.base import Loss


class DirectionalLoss(Loss):
    """``mean_views (1 − cos(E(stylised) − E(original), δ_guide))`` (3DArtmator Eq. 7; StyleGAN-NADA's direction loss).

    Args:
        weight: multiplier (3DArtmator's λ3 = 1).
        encoder: registry name of the feature extractor ``E`` (``toonlift plugins`` lists them).
        encoder_args: its constructor arguments.
        augment_copies: 3DArtmator encodes augmented renders: each view pair is encoded this many extra times under
            a random x-flip and integer shift (up to 1/8 of the size), the *same* for the stylised and the original
            image so that their difference stays a style change; 0 = no augmentation. Colour augmentations are not
            offered: they would change the style being compared.
        seed: seed of the augmentation stream.
        min_norm: floor of the difference's norm in the cosine, as a fraction of the guide's norm (0: torch's
            1e-8). A fine-tune starts with the trained copy equal to the original, so the difference is 0 and the
            cosine's gradient (~ 1 / ||difference||) is huge for the first steps; Adam's second moments then remember
            that spike and freeze every other term. Below the floor the loss is linear in the difference
            (``1 − d·ĝ / floor``) with a bounded gradient; above it, the plain cosine.
    """

    def __init__(
        self,
        weight: float = 1.0,
        encoder: str = "synthetic_analyser",
        encoder_args: dict[str, Any] | None = None,
        augment_copies: int = 0,
        seed: int = 0,
        min_norm: float = 0.0,
    ) -> None:
        super().__init__(weight)
        from toonlift.errors import ConfigError
        from toonlift.registry import FEATURE_EXTRACTORS

        if augment_copies < 0 or not min_norm >= 0:
            raise ConfigError(
                f"directional loss: augment_copies and min_norm must be >= 0, got {augment_copies} and {min_norm}."
            )
        self.min_norm = float(min_norm)
        self.augment_copies = int(augment_copies)
        self.generator = torch.Generator().manual_seed(seed)
        self.encoder_name = encoder
        self.encoder = FEATURE_EXTRACTORS.build(encoder, **(encoder_args or {})).requires_grad_(False).eval()

    def train(self, mode: bool = True) -> DirectionalLoss:
        super().train(mode)
        self.encoder.eval()  # a measuring network: frozen statistics in every mode
        return self

    @torch.no_grad()
    def guide(self, targets: Tensor, sources: Tensor) -> Tensor:
        """The guide direction ``[F]``: ``mean E(targets) − mean E(sources)`` (images ``[B, 3, H, W]`` in [-1, 1]).

        3DArtmator: ``targets`` = the exemplar, ``sources`` = the original generator's anchor image at its view.
        """
        return feature_direction(self.encoder(targets), self.encoder(sources))

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        stylised = (torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1).requires_grad_(True)
        original = torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1
        return stylised, original, torch.randn(self.encoder.num_features, generator=gen)

    def forward(self, stylised: Tensor, original: Tensor, guide: Tensor) -> Tensor:
        """Mean over views of ``1 − cos`` (images ``[B, 3, H, W]`` in [-1, 1]; ``guide [F]`` or ``[B, F]``).

        Gradients flow into ``stylised`` (the trained copy's views); ``original`` is the frozen generator's.
        """
        if self.augment_copies:
            stylised, original = self.augmented(stylised, original)
        with torch.no_grad():
            ref = self.encoder(original)
        eps = max(1e-8, self.min_norm * float(guide.norm(dim=-1).min())) if self.min_norm > 0 else 1e-8
        return directional_loss(self.encoder(stylised), ref, guide, eps=eps).mean()

    def augmented(self, stylised: Tensor, original: Tensor) -> tuple[Tensor, Tensor]:
        """The pairs plus ``augment_copies`` geometrically augmented copies, ``[(1 + k) B, 3, H, W]`` each; both
        images of a pair get the same flip and shift (they are augmented as one 6-channel image)."""
        pair = torch.cat([stylised, original.to(stylised)], dim=1)  # [B, 6, H, W]
        copies = [pair]
        for _ in range(self.augment_copies):
            gen = self.generator if pair.device.type == "cpu" else None  # a CPU stream cannot drive CUDA draws
            copies.append(random_translate_int(random_xflip(pair, 0.5, gen), 1.0, generator=gen))
        both = torch.cat(copies)
        return both[:, :3], both[:, 3:]
