"""``toonlift rig-viewer``: a world face through the ``head_rig`` backbone -> an animatable GLB + offline viewer.

The face is the world's sample ``--index`` of ``--seed`` in ``--domain`` (its identity, appearance; expression set
to neutral). Its rig is the 57 FACS-style templates of :mod:`toonlift.synthetic.facs_templates` (the world's 12
blendshapes first; ``--templates world`` for those only) on the template head (002's hand-made templates), moved
onto this face by deformation transfer (Sumner & Popović 2004; 002 Eq. 14–16; factored once, three
back-substitutions per template), which keeps each expression's *relative* action on a face whose features differ
in size (a blink closes a big toon eye as far as the template's), or by naive offsets (``--transfer naive``: the
template's vertex offsets added as they are). Writes ``avatar.glb`` (one morph target per expression, names in
``mesh.extras.targetNames``), ``animation.json`` (a driven sequence with known weights: each expression in turn,
eased in and out), ``viewer.html`` and ``rig.json`` (what was built, and how long it took).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from toonlift.errors import ConfigError
from toonlift.export.gltf_morph import MorphMesh, morph_mesh_from_offsets, save_morph_glb
from toonlift.export.mesh_export import mesh_from_tensors
from toonlift.export.viewer import write_viewer
from toonlift.functional.deformation_transfer import DeformationTransfer
from toonlift.functional.eyeballs import rigid_eyeball_offsets
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_vertex_colours
from toonlift.plugins.head_rig.latent import split_latent
from toonlift.plugins.head_rig.prior import sample_latent
from toonlift.synthetic.facs_templates import facs_templates
from toonlift.synthetic.head_model import KINDS
from toonlift.synthetic.render import DOMAINS
from toonlift.utils.output_dirs import check_writable_folder

TRANSFERS = ("dt", "naive")
TEMPLATE_SETS = ("facs", "world")
PRUNE = 1e-4  # head units


def rig_offsets(
    template: np.ndarray,
    basis: np.ndarray,
    neutral: np.ndarray,
    faces: np.ndarray,
    transfer: str,
    eyeballs: list[np.ndarray] | None = None,
):
    """Per-expression vertex offsets ``[E, V, 3]`` of the face ``neutral`` from template blendshapes ``basis``.

    Args:
        template: ``[V, 3]`` the template's neutral (the mean head).
        basis: ``[E, V, 3]`` the template's blendshape offsets.
        neutral: ``[V, 3]`` the face to rig (same topology).
        faces: ``[F, 3]`` triangles.
        transfer: ``"dt"`` (deformation transfer) or ``"naive"`` (the template's offsets unchanged).
        eyeballs: vertex indices of each eyeball; with ``"dt"``, each template's eyeball motion is re-applied as a
            rigid motion about this face's own eyeball centre (``rigid_eyeball_offsets``).
    """
    if transfer == "naive":
        return basis.astype(np.float32).copy()
    # vertices no template moves (eyeballs, neck, the back of the head) are pinned
    pins = np.nonzero(np.abs(basis).max(axis=(0, 2)) < 1e-9)[0]
    dt = DeformationTransfer(template, neutral, faces, pinned=pins)
    # one factorisation, then every template's three coordinates as right-hand sides of one back-substitution
    offsets = dt.transfer_many(template[None] + basis) - neutral
    if eyeballs is not None:
        offsets = rigid_eyeball_offsets(template, basis, neutral, offsets, eyeballs)
    return offsets.astype(np.float32)


def synthetic_animation(names: list[str], fps: float = 25.0, seconds_each: float = 1.2) -> dict:
    """A driven sequence with known weights: each expression in turn rises from 0 to 1 and falls back (``sin²``
    ease). Returns the viewer's animation dict."""
    per = 2 * max(1, int(round(fps * seconds_each / 2))) + 1  # odd: the middle frame is the full action
    frames = []
    for k in range(len(names)):
        for t in range(per):
            w = [0.0] * len(names)
            w[k] = round(math.sin(math.pi * t / (per - 1)) ** 2, 4)  # 4 decimals keep the JSON small
            frames.append(w)
    return {"fps": fps, "names": list(names), "weights": frames}


def build_rig_avatar(
    seed: int = 0,
    index: int = 0,
    domain: str = "cartoon",
    detail: str = "high",
    transfer: str = "dt",
    templates: str = "facs",
) -> tuple[MorphMesh, dict]:
    """The morph-target avatar of the world's face ``(seed, index)`` and a summary dict (counts, timings).

    ``templates``: ``"facs"`` (the 57 of :mod:`toonlift.synthetic.facs_templates`, the world's 12 first) or
    ``"world"`` (the world's 12 blendshapes only)."""
    if domain not in DOMAINS:
        raise ConfigError(f"Unknown synthetic domain '{domain}'; choose one of {', '.join(DOMAINS)}.")
    if transfer not in TRANSFERS:
        raise ConfigError(f"Unknown rig transfer '{transfer}'; choose one of {', '.join(TRANSFERS)}.")
    if templates not in TEMPLATE_SETS:
        raise ConfigError(f"Unknown rig templates '{templates}'; choose one of {', '.join(TEMPLATE_SETS)}.")
    rig = HeadRigBackbone(image_size=64, detail=detail, prior_domain=domain)
    lat = split_latent(sample_latent(seed, [index], domain))
    lat.expression.zero_()  # the neutral face carries the rig; expressions become morph targets
    with torch.no_grad():
        neutral = rig.object_vertices(lat)[0].double().numpy()  # [V, 3] head units, x right, y up, z to viewer
        display = rig_vertex_colours(rig.head_model, lat.albedo)[0]  # [V, 3] in [-1, 1], gamma 2.2
        # glTF's COLOR_0 is linear (the viewer applies the display transfer itself): undo the world's gamma 2.2
        colours = ((display + 1) / 2).clamp(0, 1).pow(2.2) * 2 - 1
    head = rig.head_model
    template = head.mean.double().numpy()
    names, basis = list(head.expression_names), head.expression_basis.double().numpy()
    if templates == "facs":
        names, basis = facs_templates(template, basis, head.vertex_kinds.numpy(), KINDS)
    start = time.perf_counter()
    kinds = head.vertex_kinds.numpy()
    eyeballs = [np.nonzero(kinds == KINDS[k])[0] for k in ("eye_right", "eye_left")]
    offsets = rig_offsets(template, basis.astype(np.float64), neutral, head.faces.numpy(), transfer, eyeballs)
    rig_seconds = time.perf_counter() - start
    mesh = mesh_from_tensors(torch.from_numpy(neutral).float(), head.faces, vertex_colors=colours)
    # offsets under 1e-4 head units (0.01 px at 256 px) are dropped: the GLB's sparse targets then hold ~1/3 of it
    morph = morph_mesh_from_offsets(mesh, offsets, names, prune=PRUNE)
    info = {
        "seed": seed,
        "index": index,
        "domain": domain,
        "detail": detail,
        "transfer": transfer,
        "templates": templates,
        "vertices": int(len(neutral)),
        "faces": int(head.faces.shape[0]),
        "targets": names,
        "rig_seconds": round(rig_seconds, 3),
        "units": "head units (skull half-height 1); +Y up, +Z towards the viewer",
    }
    return morph, info


def write_rig_viewer(out: Path, animate: bool = True, **kwargs) -> dict:
    """Build the avatar (``kwargs`` of :func:`build_rig_avatar`) and write ``avatar.glb``, ``animation.json``,
    ``viewer.html`` and ``rig.json`` into ``out``. Returns the summary dict."""
    out.mkdir(parents=True, exist_ok=True)
    morph, info = build_rig_avatar(**kwargs)
    glb = save_morph_glb(morph, out / "avatar.glb")
    animation = synthetic_animation(morph.names) if animate else None
    if animation is not None:
        (out / "animation.json").write_text(json.dumps(animation))
    elif (out / "animation.json").exists():
        (out / "animation.json").unlink()  # a stale sequence from an earlier run would be played otherwise
    html = write_viewer(
        glb, animation=animation, title=f"toonlift rig: {info['domain']} face {info['seed']}/{info['index']}"
    )
    info.update(glb_bytes=glb.stat().st_size, html_bytes=html.stat().st_size, files=["avatar.glb", "viewer.html"])
    (out / "rig.json").write_text(json.dumps(info, indent=2))
    return info


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``toonlift rig-viewer``."""
    p = argparse.ArgumentParser(prog="toonlift rig-viewer", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output folder (avatar.glb, viewer.html, ...)")
    p.add_argument("--seed", type=int, default=0, help="the world's sample seed")
    p.add_argument("--index", type=int, default=0, help="which face of the seed")
    p.add_argument("--domain", default="cartoon", choices=DOMAINS, help="the face's domain (cartoon: toon identity)")
    p.add_argument("--detail", default="high", choices=("low", "high"), help="head mesh detail")
    p.add_argument("--transfer", default="dt", choices=TRANSFERS, help="deformation transfer or naive offsets")
    p.add_argument("--templates", default="facs", choices=TEMPLATE_SETS, help="57 FACS-style or the world's 12")
    p.add_argument("--no_animation", action="store_true", help="write no driven sequence (the viewer has no play)")
    a = p.parse_args(argv)
    check_writable_folder(a.out, "output folder (--out)")  # before the rigging, not after it
    info = write_rig_viewer(
        a.out,
        animate=not a.no_animation,
        seed=a.seed,
        index=a.index,
        domain=a.domain,
        detail=a.detail,
        transfer=a.transfer,
        templates=a.templates,
    )
    print(
        f"wrote {a.out / 'avatar.glb'} ({info['glb_bytes'] / 1e6:.2f} MB, {len(info['targets'])} morph targets, "
        f"rig {info['rig_seconds']:.2f} s) and {a.out / 'viewer.html'}"
    )
    return 0
