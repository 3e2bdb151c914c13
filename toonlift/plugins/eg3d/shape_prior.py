"""An optional density prior for the tri-plane decoder: an ellipsoid of density added to the decoder's raw output.

Beyond EG3D (which starts from noise and learns the shape from ~25M images), in the spirit of the sphere
initialisation of StyleSDF and GRAM: with a head-sized ellipsoid of density from the first iteration, the colours the
planes paint lie on a surface in 3D, so the render turns with the camera before the GAN has learnt any shape, and a
CPU-sized budget (tens of thousands of images) can learn a face whose pose follows the camera. The network adds to
the prior and can carve or grow anything; the prior stays part of the model (it is in the export's architecture).

``sigma_prior(x) = strength * clamp((1 - |(x - centre) / radii|) / width, 0, 1)``: 0 outside the ellipsoid (the
network alone decides there: a neck, hair), rising linearly to ``strength`` at ``width`` (a fraction of the radii)
inside. The strength is sized so that the ellipsoid is opaque (raw densities of ~100 at the lite model's 0.3-unit box)
while the network's outputs move the surface within the ramp.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError


@dataclass(frozen=True)
class EllipsoidPrior:
    """An ellipsoid of density (world units of the tri-plane box).

    Attributes:
        centre: ``(x, y, z)`` centre.
        radii: ``(rx, ry, rz)`` semi-axes.
        strength: raw density added deep inside.
        width: depth of the ramp below the surface, as a fraction of the radii.
    """

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    strength: float
    width: float = 0.1

    def __post_init__(self) -> None:
        if len(self.centre) != 3 or len(self.radii) != 3 or min(self.radii) <= 0:
            raise ConfigError(
                f"The EG3D density prior needs a 3-number centre and 3 positive radii, got centre={self.centre}, "
                f"radii={self.radii}."
            )
        if self.strength < 0 or self.width <= 0:
            raise ConfigError(
                f"The EG3D density prior needs strength >= 0 and width > 0, got {self.strength} and {self.width}."
            )

    @classmethod
    def from_config(cls, config: dict | None) -> EllipsoidPrior | None:
        """Build from the backbone's ``density_prior`` dict (``None``: no prior)."""
        if config is None:
            return None
        unknown = set(config) - {"centre", "radii", "strength", "width"}
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {sorted(unknown)} in the EG3D density_prior; give centre, radii, strength, width."
            )
        try:
            return cls(
                tuple(float(v) for v in config["centre"]),
                tuple(float(v) for v in config["radii"]),
                float(config["strength"]),
                float(config.get("width", 0.1)),
            )
        except KeyError as err:
            raise ConfigError(f"The EG3D density_prior needs {err.args[0]!r} (centre, radii, strength).") from None

    def as_config(self) -> dict:
        """The JSON-able dict :meth:`from_config` reads (stored in the export's architecture)."""
        return {"centre": list(self.centre), "radii": list(self.radii), "strength": self.strength, "width": self.width}

    def __call__(self, coords: Tensor) -> Tensor:
        """Raw density ``[B, N, 1]`` of points ``coords [B, N, 3]``."""
        centre = coords.new_tensor(self.centre)
        radii = coords.new_tensor(self.radii)
        radius = ((coords - centre) / radii).norm(dim=-1, keepdim=True)  # 1 on the surface
        return self.strength * torch.clamp((1 - radius) / self.width, 0.0, 1.0)
