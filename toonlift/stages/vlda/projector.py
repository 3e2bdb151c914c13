"""GAN2Shape step 2: project rendered pseudo samples back onto the GAN's image manifold through the offset encoder.

The generator and discriminator are frozen (eval mode, no gradients for their weights); gradients flow through
them into the offset encoder E only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.functional.image_losses import masked_l1
from toonlift.plugins.backbones.capabilities import BlockFeatures, MappingSplit, require
from toonlift.stages.vlda.latent_projection import masked_feature_l1, relative_offset_latent


def resize(images: Tensor, size: int) -> Tensor:
    """Bilinear resize of ``[B, C, H, W]`` to ``size`` (identity when already that size)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class LatentProjector(nn.Module):
    """The generator side of step 2: ``w(I) = w_input + M_tail(h_c + E(I) - E(I_input)) - w_c``, ``G(w(I))``.

    Args:
        generator: a backbone offering ``MappingSplit`` (e.g. ``StyleGAN2Backbone``).
        discriminator: its discriminator, offering ``BlockFeatures``.
        image_size: side of VLDA images (generator outputs are resized to it).
        tail_layers: mapping layers after the hidden space (GAN2Shape ``F1_d`` = 2 for faces).
        disc_blocks: discriminator blocks compared by the feature loss (GAN2Shape ``ftr_num`` = 4).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        image_size: int,
        tail_layers: int = 2,
        disc_blocks: int = 4,
    ) -> None:
        super().__init__()
        require(generator, MappingSplit, stage="Stage 3 (VLDA step 2, latent projection)")
        require(discriminator, BlockFeatures, stage="Stage 3 (VLDA step 2, feature loss)", role="discriminator")
        self.generator = generator.eval().requires_grad_(False)
        self.discriminator = discriminator.eval().requires_grad_(False)
        self.head, self.tail = generator.split_mapping(tail_layers)
        self.image_size = image_size
        self.disc_blocks = min(disc_blocks, discriminator.feature_block_count())

    def train(self, mode: bool = True) -> LatentProjector:
        super().train(mode)
        self.generator.eval()  # frozen parts stay in eval mode
        self.discriminator.eval()
        return self

    @torch.no_grad()
    def centers(self) -> tuple[Tensor, Tensor]:
        """``(h_c [1, h], w_c [1, w])``: the hidden and W images of ``z = 0``."""
        tensors = [*self.generator.parameters(), *self.generator.buffers()]
        dev = tensors[0].device if tensors else torch.device("cpu")
        dim = self.generator.z_dim
        center_h = self.head(torch.zeros(1, dim, device=dev))
        return center_h, self.tail(center_h)

    def render(self, w: Tensor) -> Tensor:
        """``G(w)`` for W latents ``[B, w_dim]``, resized to ``image_size`` and clamped to ``[-1, 1]``."""
        out = self.generator.synthesis(w, noise_mode="const")
        return resize(out.image, self.image_size).clamp(-1, 1)

    def project(self, encoder: nn.Module, images: Tensor, input_code: Tensor, input_w: Tensor) -> tuple[Tensor, Tensor]:
        """``(projected images [B, 3, S, S], W offsets [B, w_dim])`` of ``images`` through ``encoder``."""
        center_h, center_w = self.centers()
        offset, latent = relative_offset_latent(encoder(images), input_code, center_h, center_w, self.tail, input_w)
        return self.render(latent), offset

    def loss(
        self, proj: Tensor, target: Tensor, mask: Tensor, offset: Tensor, lam_regular: float = 0.01
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``L1 + D-feature L1 + lam_regular * mean(offset^2)`` (GAN2Shape ``forward_step2``)."""
        l1 = masked_l1(proj, target, mask)
        size = self.discriminator.resolution
        with torch.no_grad():
            real = self.discriminator.block_features(resize(target, size), self.disc_blocks)
        fake = self.discriminator.block_features(resize(proj, size), self.disc_blocks)
        feat = masked_feature_l1(fake, real, resize(mask, size))
        reg = offset.pow(2).mean()
        return l1 + feat + lam_regular * reg, {"l1": l1, "dfeat": feat, "offset_reg": reg}
