"""EG3D's mapping network with camera conditioning (StyleGAN2-ADA's ``MappingNetwork`` with ``c_dim = 25``).

``w = MLP([normalise(z), normalise(embed(c))])``: the camera label passes through a linear embedding (``c_dim ->
w_dim``), both halves are normalised to unit second moment and concatenated, and ``num_layers`` leaky-ReLU layers
(learning-rate multiplier 0.01) map them to ``w``. ``w_avg`` tracks the mean ``w`` during training (the truncation
centre). With ``z_dim = 0`` it is the discriminator's camera mapping.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toonlift.plugins.stylegan2.layers import EqualLinear


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """``x * rsqrt(mean(x^2) + eps)`` over features."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class CameraMapping(nn.Module):
    """``(z [B, z_dim], c [B, c_dim]) -> w [B, w_dim]``.

    Args:
        z_dim: latent code size (0: camera only).
        c_dim: conditioning size (25 for a camera).
        w_dim: output size (also the embedding and hidden width, as EG3D).
        num_layers: MLP depth (EG3D's generator: 2; its discriminator: 8).
        lr_mul: learning-rate multiplier of the MLP.
        track_w_avg: keep the ``w_avg`` buffer (generators).
    """

    def __init__(
        self, z_dim: int, c_dim: int, w_dim: int, num_layers: int, lr_mul: float = 0.01, track_w_avg: bool = True
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.embed = EqualLinear(c_dim, w_dim)
        dims = [z_dim + w_dim] + [w_dim] * num_layers
        self.fcs = nn.ModuleList(
            EqualLinear(dims[i], dims[i + 1], lr_mul=lr_mul, activation=True) for i in range(num_layers)
        )
        if track_w_avg:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor | None, c: Tensor) -> Tensor:
        x = normalize_2nd_moment(self.embed(c))
        if self.z_dim > 0:
            x = torch.cat([normalize_2nd_moment(z), x], dim=1)
        for fc in self.fcs:
            x = fc(x)
        return x
