"""Exemplars and inputs for one-shot stylisation: an image file, or a render of the synthetic world.

A world render is named ``FACE,DOMAIN,YAW`` (face index of :data:`WORLD_SEED`'s faces, ``photo``/``ink``/
``cartoon``, yaw in degrees, pitch and roll 0) and comes with its exact EG3D camera
(:func:`toonlift.plugins.eg3d.world_camera.synthetic_cond`), depth and mask. An image file gets the orbit camera
of a given yaw (frontal by default).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.world_camera import synthetic_cond

WORLD_SEED = 7000  # the held-out faces of the benchmarks (never seen by the generators' training renders)
DOMAINS = ("photo", "ink", "cartoon")


@dataclass
class View:
    """An image with its camera: ``image [1, 3, S, S]`` in [-1, 1], ``cond [1, 25]``; world renders add ``depth``
    and ``mask`` ``[1, 1, S, S]``."""

    image: Tensor
    cond: Tensor
    depth: Tensor | None = None
    mask: Tensor | None = None


def parse_world(spec: str, with_domain: bool = True) -> tuple[int, str, float]:
    """``"FACE,DOMAIN,YAW"`` (or ``"FACE,YAW"`` for a photo) -> ``(face, domain, yaw)``."""
    parts = [p.strip() for p in spec.split(",")]
    want = 3 if with_domain else 2
    try:
        if len(parts) != want:
            raise ValueError
        face = int(parts[0])
        domain = parts[1] if with_domain else "photo"
        yaw = float(parts[-1])
    except ValueError:
        form = "FACE,DOMAIN,YAW (e.g. 3,ink,30)" if with_domain else "FACE,YAW (e.g. 5,0)"
        raise ConfigError(f"A world render is named {form}; got '{spec}'.") from None
    if face < 0 or domain not in DOMAINS or not -60.0 <= yaw <= 60.0:
        raise ConfigError(
            f"World render '{spec}': the face must be >= 0, the domain one of {', '.join(DOMAINS)} and the yaw within "
            "+-60 degrees (the world's views)."
        )
    return face, domain, yaw


def world_views(faces: list[int], domain: str, yaws: list[float], size: int, seed: int = WORLD_SEED) -> list[View]:
    """Renders of ``faces`` (indices of the seed's faces) in ``domain`` at each yaw: face-major list of views."""
    from toonlift.synthetic.render import FaceRenderer
    from toonlift.synthetic.sampler import sample_params

    params = sample_params(seed, faces)
    renderer = FaceRenderer()
    views = []
    for i in range(len(faces)):
        one = type(params)(**{f.name: getattr(params, f.name)[i : i + 1] for f in dataclasses.fields(params)})
        many = type(one)(
            **{
                f.name: getattr(one, f.name).expand(len(yaws), *getattr(one, f.name).shape[1:])
                for f in dataclasses.fields(one)
            }
        )
        pose = torch.tensor([[y, 0.0, 0.0] for y in yaws])
        many = dataclasses.replace(many, pose=pose)
        out = renderer(many, domain, size, outputs=("image", "depth", "mask"))
        cond = synthetic_cond(pose, size)
        for k in range(len(yaws)):
            depth, mask = out["depth"][k : k + 1], out["mask"][k : k + 1]
            views.append(View(out["image"][k : k + 1].float(), cond[k : k + 1], _chw(depth), _chw(mask)))
    return views


def _chw(x: Tensor) -> Tensor:
    return x if x.ndim == 4 else x.unsqueeze(1)


def world_view(spec: str, size: int, with_domain: bool = True) -> View:
    """The world render named by ``spec`` (see :func:`parse_world`)."""
    face, domain, yaw = parse_world(spec, with_domain)
    return world_views([face], domain, [yaw], size)[0]


def image_view(path: str, g: EG3DBackbone, yaw_deg: float = 0.0) -> View:
    """An image file as a view: centre-cropped and resized to the generator's size, the orbit camera at ``yaw_deg``."""
    from toonlift.utils.image_reading import read_image_tensor

    image = read_image_tensor(path, resolution=g.resolution)
    yaw = torch.tensor([math.radians(yaw_deg)])
    return View(image, g.orbit_cond(yaw, torch.zeros(1)))
