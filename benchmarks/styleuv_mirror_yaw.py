"""StyleFaceUV (seed 003): where the symmetric view's walk lands, per face.

    OMP_NUM_THREADS=1 python benchmarks/styleuv_mirror_yaw.py   # from the repository root, after train_parts

For the held-out inverted faces 6..15 (reference: their true yaw) and 128 random codes (the training's
distribution; reference: the analyser's yaw of G(w)): F_3D's yaw against the reference (MAE, sign agreement), the
analyser's yaw of ``G(w_s)`` with ``w_s = w + F_yaw(w; -F_3D yaw) d`` against minus the reference and against the
asked yaw, and how often ``G(w_s)`` lands on the other side; per face for the inverted ones.
"""

import torch

from toonlift.plugins.head_rig.latent import SLICES
from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.pairs import load_pairs
from toonlift.stages.styleuv.parts import load_parts
from toonlift.stages.styleuv.yaw import move_to_yaw
from toonlift.synthetic.analyser import FaceAnalyser

torch.set_grad_enabled(False)
Y = SLICES["pose"].start
g, parts, an = load_photo_generator(), load_parts("outputs/styleuv/parts.safetensors"), FaceAnalyser.load()
inv = load_pairs("outputs/styleuv/pairs_inverted.safetensors")


def check(w, true=None, label=""):
    f = parts.coeff(w)[:, Y]
    ws = move_to_yaw(parts.yaw_step, w, parts.yaw_normal, -f)
    a = an(g.synthesis(w, noise_mode="const").image).pose[:, 0]
    a_s = an(g.synthesis(ws, noise_mode="const").image).pose[:, 0]
    f_s = parts.coeff(ws)[:, Y]
    ref = true if true is not None else a
    print(
        label,
        "mean|ref|",
        float(ref.abs().mean()),
        "F3D yaw MAE vs ref",
        float((f - ref).abs().mean()),
        "sign agree",
        float((torch.sign(f) == torch.sign(ref)).float().mean()),
        "| G(w_s) analyser yaw vs -ref MAE",
        float((a_s + ref).abs().mean()),
        " vs -F3D yaw (asked) MAE",
        float((a_s + f).abs().mean()),
        "| G(w_s) on the other side",
        float((torch.sign(a_s) != torch.sign(ref)).float().mean()),
    )
    return ref, f, a, a_s, f_s


r = check(inv.w_plus[6:16], inv.latent[6:16, Y], "inverted held-out (ref=true)")
for row in zip(*[x.tolist() for x in r]):
    print(" true {:+.1f} F3D {:+.1f} G(w) {:+.1f} G(w_s) {:+.1f} F3D(w_s) {:+.1f}".format(*row))
z = torch.randn(128, g.z_dim, generator=torch.Generator().manual_seed(5))
check(g.mapping(z), None, "random codes (ref=analyser on G(w))")
