"""The rig latent of the synthetic world's faces, and samples from the world's priors.

:func:`latent_from_params` is exact for geometry: identity (toon-transformed outside the photo domain), expression
and pose are the world's own, so the rig renders the same depth and landmarks. The world's Lambert light
``ambient + diffuse * max(0, n.l)`` becomes its 9-term SH approximation (``lambert_sh_coefficients``), and the
appearance code is carried unchanged (the rig's albedo is the world's flat per-part colour, without texture noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.shading import lambert_sh_coefficients, reference_light_direction
from toonlift.plugins.head_rig.latent import LATENT_DIM, RigLatent, join_latent
from toonlift.synthetic.render import DOMAINS
from toonlift.synthetic.sampler import FaceParams, sample_params
from toonlift.synthetic.toon import domain_identity


def latent_from_params(params: FaceParams, domain: str = "photo") -> Tensor:
    """The ``[B, 53]`` rig latent that reproduces the world's face ``params`` as rendered in ``domain``."""
    if domain not in DOMAINS:
        raise ConfigError(f"Unknown synthetic domain '{domain}'; choose one of {', '.join(DOMAINS)}.")
    identity = domain_identity(params.identity, domain)
    light = params.light
    sh = lambert_sh_coefficients(reference_light_direction(light[:, 2:4]), light[:, 0], light[:, 1])
    pose = torch.cat([params.pose, torch.zeros_like(params.pose)], dim=1)  # no shift, log-scale 0
    return join_latent(
        RigLatent(identity=identity, expression=params.expression, albedo=params.appearance, light=sh, pose=pose)
    )


def sample_latent(seed: int, indices: Sequence[int] | range, domain: str = "photo") -> Tensor:
    """Rig latents ``[N, 53]`` of the world's samples ``indices`` of ``seed`` (deterministic per sample)."""
    return latent_from_params(sample_params(seed, indices), domain)


@lru_cache(maxsize=4)
def prior_moments(domain: str = "photo", count: int = 1024, seed: int = 20261202) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation ``[53]`` each of the world's latent prior (``count`` fixed samples).

    The backbone's mapping starts as the affine map that gives a standard-normal ``z`` these moments.
    """
    lat = sample_latent(seed, range(count), domain)
    std = lat.std(0)
    # pose shift and log-scale are always 0 in the world; keep a small spread so the affine map is invertible
    return lat.mean(0), torch.where(std > 1e-6, std, torch.full_like(std, 1e-3))


def check_latent_size(latent: Tensor) -> None:
    """Refuse latents whose last dimension is not the rig's 53."""
    if latent.shape[-1] != LATENT_DIM:
        raise ConfigError(f"head-rig latents have {LATENT_DIM} values in their last dimension, got {latent.shape}.")
