"""Decoding the VLDA networks' outputs (depth, view, light) and sampling random views and lights for pseudo samples.

Conventions follow GAN2Shape: the view network outputs 6 numbers in ``[-1, 1]`` scaled to rotations of
``xyz_rotation_range`` degrees (60) and translations of ``xy_translation_range`` (0.1); the light network outputs
4 numbers ``(a', b', dx, dy)`` with ambient ``a = a'/2 + 1/2``, diffuse ``b = b'/2 + 1/2`` and the reference direction
``normalize(dx, dy, 1)``. Shading and camera conventions are those of ``toonlift.functional.shading``/``camera``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.depth_map import border_depth, clamp_depth_border
from toonlift.functional.shading import lambert, reference_light_direction


def rescale_depth(raw: Tensor, min_depth: float = 0.9, max_depth: float = 1.1, border: int = 2) -> Tensor:
    """Raw depth-network output ``[B, 1, H, W]`` or ``[B, H, W]`` to a canonical depth map ``[B, H, W]``.

    ``d - mean(d)`` per image, ``tanh``, affine to ``[min_depth, max_depth]``, then the left/right ``border`` columns
    pulled to ``0.7 max + 0.3 min`` (GAN2Shape ``forward_step1``; ``border=0`` skips the clamp).
    """
    d = raw.squeeze(1) if raw.dim() == 4 else raw
    d = d - d.mean(dim=(1, 2), keepdim=True)
    d = (torch.tanh(d) + 1.0) / 2.0 * (max_depth - min_depth) + min_depth
    if border > 0:
        d = clamp_depth_border(d, border_depth(min_depth, max_depth), width=border)
    return d


def decode_view(
    v: Tensor, rotation_range_deg: float = 60.0, xy_translation_range: float = 0.1, z_translation_range: float = 0.0
) -> Tensor:
    """Network view ``[B, 6]`` in ``[-1, 1]`` to the camera view ``[B, 6]`` = (rx, ry, rz radians, tx, ty, tz)."""
    rot = v[:, :3] * math.radians(rotation_range_deg)
    return torch.cat([rot, v[:, 3:5] * xy_translation_range, v[:, 5:6] * z_translation_range], dim=1)


@dataclass
class Light:
    """Decoded Lambertian light: ambient ``a`` ``[B]``, diffuse ``b`` ``[B]`` and direction ``[B, 3]`` (toonlift
    convention: towards the light)."""

    ambient: Tensor
    diffuse: Tensor
    direction: Tensor


def decode_light(light: Tensor) -> Light:
    """Network light ``[B, 4]`` = ``(a', b', dx, dy)`` to :class:`Light` (``a = a'/2 + 0.5``, ``b = b'/2 + 0.5``)."""
    return Light(light[:, 0] / 2 + 0.5, light[:, 1] / 2 + 0.5, reference_light_direction(light[:, 2:4]))


def shade(albedo: Tensor, normals: Tensor, light: Light) -> tuple[Tensor, Tensor]:
    """Lambertian image formation of GAN2Shape.

    Args:
        albedo: ``[B, 3, H, W]`` in ``[-1, 1]``.
        normals: ``[B, H, W, 3]`` unit normals (``depth_normals``).
        light: decoded light.

    Returns:
        ``(texture [B, 3, H, W] in [-1, 1], shading [B, 1, H, W])`` with ``texture = (A/2 + 1/2) shading 2 - 1``.
    """
    shading = lambert(normals, light.direction, light.ambient, light.diffuse).unsqueeze(1)
    return shaded_texture(albedo, shading), shading


def shaded_texture(albedo: Tensor, shading: Tensor) -> Tensor:
    """GAN2Shape's texture ``(A/2 + 1/2)·shading·2 − 1`` in ``[-1, 1]``: albedo ``[B, 3, H, W]`` in ``[-1, 1]``,
    shading ``[B, 1, H, W]`` (broadcasts over a batch of shadings for one albedo)."""
    return (albedo / 2 + 0.5) * shading * 2 - 1


def diffuse_term(normals: Tensor, direction: Tensor) -> Tensor:
    """``max(0, n . l)`` ``[B, 1, H, W]`` for normals ``[B, H, W, 3]`` and directions ``[B, 3]``."""
    return lambert(normals, direction, 0.0, 1.0).unsqueeze(1)


@dataclass
class PseudoSampling:
    """Ranges of the random views and lights of step 2 (GAN2Shape ``sample_pseudo_imgs``).

    Views: the reference draws them from a multivariate normal fitted to its pre-trained view network (not public);
    here each angle is drawn independently, uniformly in ``[-range, range]`` or normally with std ``range / 2``,
    and the yaw is multiplied by ``view_scale`` (1.2, as the reference). Lights: ``dx ~ U(light_dx)``,
    ``dy ~ U(light_dy)``, a strength ``r ~ U(light_r)``; shading ``a + ambient_shift r + (b + r) max(0, n.l)``.

    Attributes:
        yaw_deg: yaw range before ``view_scale`` (degrees).
        pitch_deg: pitch range (degrees).
        roll_deg: roll range (degrees).
        xy_translation: translation range (camera units).
        view_scale: yaw multiplier.
        distribution: ``"uniform"`` or ``"gaussian"``.
        light_dx: range of the reference ``dx``.
        light_dy: range of the reference ``dy``.
        light_r: range of the strength shift ``r``.
        ambient_shift: coefficient of ``r`` in the ambient term (-0.6).
    """

    yaw_deg: float = 45.0
    pitch_deg: float = 15.0
    roll_deg: float = 5.0
    xy_translation: float = 0.0
    view_scale: float = 1.2
    distribution: str = "uniform"
    light_dx: tuple[float, float] = (-1.0, 1.0)
    light_dy: tuple[float, float] = (-0.2, 0.8)
    light_r: tuple[float, float] = (-0.1, 0.6)
    ambient_shift: float = -0.6

    def __post_init__(self) -> None:
        if self.distribution not in ("uniform", "gaussian"):
            raise ConfigError(f"sampling.distribution must be 'uniform' or 'gaussian', got {self.distribution!r}.")

    def _draw(self, n: int, half_range: float, generator: torch.Generator | None) -> Tensor:
        if self.distribution == "uniform":
            return (torch.rand(n, generator=generator) * 2 - 1) * half_range
        return torch.randn(n, generator=generator) * (half_range / 2)

    def sample_views(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``[n, 6]`` camera views (radians and camera units; on CPU)."""
        pitch = self._draw(n, math.radians(self.pitch_deg), generator)
        yaw = self._draw(n, math.radians(self.yaw_deg), generator) * self.view_scale
        roll = self._draw(n, math.radians(self.roll_deg), generator)
        txy = torch.stack([self._draw(n, self.xy_translation, generator) for _ in range(2)], dim=1)
        return torch.cat([torch.stack([pitch, yaw, roll], 1), txy, torch.zeros(n, 1)], dim=1)

    def sample_lights(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(direction [n, 3] in toonlift convention, strength shift r [n])`` (on CPU)."""

        def u(lo_hi: tuple[float, float]) -> Tensor:
            lo, hi = lo_hi
            return torch.rand(n, generator=generator) * (hi - lo) + lo

        dxy = torch.stack([u(self.light_dx), u(self.light_dy)], dim=1)
        return reference_light_direction(dxy), u(self.light_r)

    def relit_shading(self, normals: Tensor, light: Light, direction: Tensor, r: Tensor) -> Tensor:
        """Shading ``[n, 1, H, W]`` of the canonical normals ``[1, H, W, 3]`` under random lights.

        ``a + ambient_shift r + (b + r) max(0, n . l)`` with the image's own ``a``, ``b`` (``light`` of batch 1).
        """
        cos = diffuse_term(normals.expand(direction.shape[0], -1, -1, -1), direction)
        r = r.view(-1, 1, 1, 1)
        a, b = light.ambient.view(-1, 1, 1, 1), light.diffuse.view(-1, 1, 1, 1)
        return a + self.ambient_shift * r + (b + r) * cos
