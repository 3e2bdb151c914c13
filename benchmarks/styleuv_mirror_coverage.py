"""StyleFaceUV (seed 003): how much of the measured hidden front can a mirrored view show at all?

    OMP_NUM_THREADS=1 python benchmarks/styleuv_mirror_coverage.py --faces 32

For world faces of seed 9000 at their *true* latents (no generator, no F_3D): the hidden front texels (seen from
yaw -45, 0 or 45 but not from the face's own pose, as ``evaluate_uv.diffuse_errors`` counts them) and the share of
them that the same face sees at the mirrored yaw, exactly, and with the mirrored yaw clamped to the ±24° the
shipped generator's yaw walk reaches. An upper bound on what the symmetric view can teach the hidden half.
"""

from __future__ import annotations

import argparse

import torch

from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.head_rig.prior import latent_from_params
from toonlift.stages.styleuv.evaluate_uv import front_texels
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.synthetic.sampler import sample_params

YAW = SLICES["pose"].start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--faces", type=int, default=32)
    p.add_argument("--seed", type=int, default=9000)
    p.add_argument("--reach", type=float, default=24.0, help="largest |yaw| the walk along d reaches")
    a = p.parse_args()
    torch.set_grad_enabled(False)
    lat = latent_from_params(sample_params(a.seed, list(range(a.faces))), "photo").float()
    print(f"{a.faces} faces of seed {a.seed}: mean |yaw| {float(lat[:, YAW].abs().mean()):.1f}°")
    r = UVRigRenderer(64, 64, "low")
    truth = r.true_diffuse(lat)
    seen = r(lat, truth, None).texels
    hidden = front_texels(r, lat, truth) * (1 - seen)
    n_seen, n_hidden = float(seen.sum((1, 2, 3)).mean()), float(hidden.sum((1, 2, 3)).mean())
    print(f"texels per face: seen {n_seen:.0f}, hidden front {n_hidden:.0f}")
    for label, cap in (("exact mirrored yaw", None), (f"mirrored yaw clamped to ±{a.reach:g}°", a.reach)):
        m = lat.clone()
        m[:, YAW] = -lat[:, YAW] if cap is None else (-lat[:, YAW]).clamp(-cap, cap)
        share = (hidden * r(m, truth, None).texels).sum((1, 2, 3)) / hidden.sum((1, 2, 3)).clamp_min(1)
        print(f"{label}: the mirrored view sees {float(share.mean()):.3f} of the hidden front texels")


if __name__ == "__main__":
    main()
