"""What ``toonlift avatar`` writes: meshes, rig, viewer, maps, renders, a rotation GIF and ``metrics.json``.

* ``avatar.obj`` + ``.mtl`` + ``.png``: the fitted face (its expression kept), head units, ``+Y`` up, textured;
* ``avatar.glb``: the neutral face, the same texture, 57 named morph targets (the FACS templates by deformation
  transfer); the default weights are the fitted expression, so it opens as the photo's face;
* ``animation.json``, ``viewer.html``: each expression in turn; the offline three.js viewer (sliders, play);
* ``crop.png``, ``landmarks.png``: the 256-px crop the fit saw, its landmarks (green detected, red coarse, blue fine);
* ``render.png``, ``toon.png``: the textured mesh in the photo's camera, unlit and toon-shaded;
* ``depth.png`` (16-bit, near = bright, range in ``metrics.json``), ``normal.png`` (camera-space normals);
* ``rotation.gif`` and ``rotation.mp4`` (H.264; skipped with a warning where ffmpeg cannot run): yaw -45..45
  degrees and back, textured; ``summary.png``: crop + landmarks, overlay, textured,
  toon; turned views (textured, toon) and the normals;
* ``metrics.json``: landmark residuals, dlib-ResNet similarity, seconds per phase, counts.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from toonlift.export.gltf_morph import morph_mesh_from_offsets, save_morph_glb
from toonlift.export.mesh_export import mesh_from_tensors, save_obj
from toonlift.export.viewer import write_viewer
from toonlift.plugins.head_rig.backbone import HeadRigBackbone
from toonlift.stages.rig_fit.avatar import CROP, Avatar, expression_weights
from toonlift.stages.rig_fit.avatar_viewer import PRUNE, synthetic_animation
from toonlift.stages.rig_fit.local_transfer import local_rig_offsets
from toonlift.stages.rig_fit.photo_fit import landmark_points
from toonlift.stages.rig_fit.photo_texture import render_textured
from toonlift.stages.vlda.outputs import save_mp4
from toonlift.synthetic.facs_templates import facs_templates
from toonlift.synthetic.head_model import KINDS

GIF_YAWS = tuple(range(-45, 46, 15)) + tuple(range(30, -45, -15))  # there and back, 12 frames


def to_uint8(image: Tensor) -> np.ndarray:
    """``[3, H, W]`` in ``[-1, 1]`` to ``[H, W, 3]`` uint8."""
    return ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def yaw_view(degrees: float) -> Tensor:
    """``[1, 6]`` renderer view turning the head by ``degrees`` about the vertical axis through depth 1."""
    return torch.tensor([[0.0, math.radians(degrees), 0.0, 0.0, 0.0, 0.0]])


def build_rig(rig: HeadRigBackbone, avatar: Avatar):
    """The textured :class:`MorphMesh` of the avatar's neutral face with the 57 FACS templates (deformation
    transfer) and the fitted expression as default weights; also the rig seconds."""
    head = rig.head_model
    template = head.mean.double().numpy()
    names, basis = facs_templates(template, head.expression_basis.double().numpy(), head.vertex_kinds.numpy(), KINDS)
    start = time.perf_counter()
    neutral = avatar.neutral_vertices.double().numpy()
    kinds = head.vertex_kinds.numpy()
    eyeballs = [np.nonzero(kinds == KINDS[k])[0] for k in ("eye_right", "eye_left")]
    offsets = local_rig_offsets(template, basis.astype(np.float64), neutral, head.faces.numpy(), eyeballs=eyeballs)
    seconds = time.perf_counter() - start
    weights = np.zeros(len(names), np.float32)
    weights[: len(head.expression_names)] = expression_weights(avatar).numpy()  # the world's 12 come first
    # the GLB's neutral: the fitted face minus the *transferred* expression at its fitted weights, so that the
    # default weights give back exactly the fitted face the texture was projected from (the template's offsets,
    # used to find the neutral the transfer ran on, differ from the transferred ones on this face)
    neutral = avatar.fine_vertices.double().numpy() - np.einsum("k,kvc->vc", weights, offsets.astype(np.float64))
    mesh = mesh_from_tensors(torch.from_numpy(neutral).float(), head.faces, uv=rig.uv, texture=avatar.texture)
    morph = morph_mesh_from_offsets(mesh, offsets, names, prune=PRUNE)
    morph.weights = weights
    return morph, seconds


def avatar_animation(names: list[str], base: np.ndarray) -> dict:
    """Each expression in turn (``rig-viewer``'s sequence) on top of the fitted weights ``base`` ``[T]``: a target
    rises from its fitted weight to 1 and back, the others stay at theirs (the texture was taken from the photo's
    expression, so the face plays from there)."""
    anim = synthetic_animation(names)
    b = np.asarray(base, np.float64)
    anim["weights"] = [np.round(b + (1 - b) * np.asarray(w), 4).tolist() for w in anim["weights"]]
    return anim


def landmark_picture(avatar: Avatar, rig: HeadRigBackbone) -> np.ndarray:
    """The crop with its landmarks: detected (green), coarse (red), fine (blue), 2x enlarged."""
    img = Image.fromarray(to_uint8(avatar.crop.image[0])).resize((2 * CROP, 2 * CROP), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(img)
    coarse = landmark_points(rig, avatar.latent[None])[0]
    for pts, colour in (
        (avatar.crop.landmarks, (0, 220, 0)),
        (coarse, (230, 30, 30)),
        (avatar.fine_landmarks, (40, 80, 255)),
    ):
        for x, y in (pts.detach().numpy() * 2 + 0.5).tolist():
            draw.ellipse((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=colour)
    return np.asarray(img.resize((CROP, CROP), Image.Resampling.LANCZOS))


def maps(render: dict[str, Tensor]) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """16-bit depth (near bright, 0 off the head), 8-bit normals, and the depth range in camera units."""
    mask = render["mask"][0, 0] > 0
    d = render["depth"][0, 0]
    lo, hi = float(d[mask].min()), float(d[mask].max())
    depth16 = torch.where(mask, (hi - d) / max(hi - lo, 1e-9) * 60000 + 5000, torch.zeros_like(d))
    normals = ((render["normals"][0] + 1) / 2 * 255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    normals[~mask.numpy()] = 255
    return depth16.round().to(torch.int32).numpy().astype(np.uint16), normals, (lo, hi)


def identity_similarity(crop: Tensor, render: Tensor) -> dict[str, float]:
    """dlib-ResNet descriptors of the crop and the render ``[1, 3, S, S]``: cosine and Euclidean distance (dlib
    calls two faces the same person below 0.6)."""
    from toonlift.plugins.features.dlib_resnet import DlibResnetFeatureExtractor

    net = DlibResnetFeatureExtractor().eval()
    with torch.no_grad():
        a, b = net(crop.float()), net(render.float())
    cos = float(torch.nn.functional.cosine_similarity(a, b)[0])
    return {"cosine": round(cos, 4), "distance": round(float((a - b).norm()), 4), "same_person_below": 0.6}


def write_avatar_files(folder: Path, avatar: Avatar, rig: HeadRigBackbone, title: str) -> dict:
    """Write every file of the module docstring into ``folder`` (which exists); returns the metrics dict."""
    t0 = time.perf_counter()
    morph, rig_seconds = build_rig(rig, avatar)
    t_rig = time.perf_counter() - t0

    t0 = time.perf_counter()
    head = rig.head_model
    save_obj(
        mesh_from_tensors(avatar.fine_vertices.float(), head.faces, uv=rig.uv, texture=avatar.texture),
        folder / "avatar.obj",
    )
    glb = save_morph_glb(morph, folder / "avatar.glb")
    animation = avatar_animation(morph.names, morph.weights)
    (folder / "animation.json").write_text(json.dumps(animation))
    write_viewer(glb, animation=animation, title=title, names=morph.names)
    cam = avatar.camera_vertices
    render = render_textured(rig, cam, avatar.texture, CROP)
    toon = render_textured(rig, cam, avatar.texture, CROP, toon=True)
    depth16, normals, depth_range = maps(render)
    Image.fromarray(depth16).save(folder / "depth.png")
    Image.fromarray(normals).save(folder / "normal.png")
    Image.fromarray(to_uint8(avatar.crop.image[0])).save(folder / "crop.png")
    lm_pic = landmark_picture(avatar, rig)
    Image.fromarray(lm_pic).save(folder / "landmarks.png")
    Image.fromarray(to_uint8(render["image"][0])).save(folder / "render.png")
    Image.fromarray(to_uint8(toon["image"][0])).save(folder / "toon.png")
    frames = [to_uint8(render_textured(rig, cam, avatar.texture, CROP, view=yaw_view(y))["image"][0]) for y in GIF_YAWS]
    # each frame's own 255-colour palette by fast octree (PIL's default median cut costs ~0.2 s a frame)
    gif = [Image.fromarray(f).quantize(255, method=Image.Quantize.FASTOCTREE) for f in frames]
    gif[0].save(folder / "rotation.gif", save_all=True, append_images=gif[1:], duration=120, loop=0)
    save_mp4(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1, folder / "rotation.mp4", fps=8)
    overlay = overlay_picture(avatar, render)
    turned = [frames[GIF_YAWS.index(y)] for y in (-30, 30)]
    toon_turned = to_uint8(render_textured(rig, cam, avatar.texture, CROP, view=yaw_view(-25), toon=True)["image"][0])
    top = captioned([lm_pic, overlay, to_uint8(render["image"][0]), to_uint8(toon["image"][0])], CAPTIONS[:4])
    bottom = captioned([*turned, toon_turned, normals], CAPTIONS[4:])
    Image.fromarray(np.concatenate([top, bottom], 0)).save(folder / "summary.png")
    cartoon = None
    if avatar.cartoon is not None:
        strip = [
            to_uint8(photo_crop(avatar)[0]),
            to_uint8(avatar.cartoon["projection"][0]),
            to_uint8(avatar.crop.image[0]),
        ]
        Image.fromarray(captioned(strip, ("photo crop", "projection (--generator)", "cartoon (same w)"))).save(
            folder / "cartoon.png"
        )
        cartoon = {k: v for k, v in avatar.cartoon.items() if k != "projection"}
    t_files = time.perf_counter() - t0

    t0 = time.perf_counter()
    grey = render_textured(rig, cam, avatar.texture, CROP, background=0.0)["image"]
    photo = photo_crop(avatar)
    similarity = identity_similarity(photo, grey)
    t_sim = time.perf_counter() - t0
    times = dict(avatar.times, rig=t_rig, files=t_files, similarity=t_sim)
    return {
        "landmark_residual_px": {k: round(v, 3) for k, v in avatar.residuals.items()},
        "residual_units": f"mean distance over 68 landmarks, pixels of the {CROP}-px crop",
        "coarse_start": avatar.coarse.start,
        "coarse_losses": {k: round(v, 5) for k, v in avatar.coarse.losses.items()},
        "dlib_resnet_similarity": similarity,
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "total_seconds": round(sum(times.values()), 3),
        "rig_transfer_seconds": round(rig_seconds, 3),
        "morph_targets": len(morph.names),
        "target_names": morph.names,
        "fitted_expression": {n: round(float(w), 3) for n, w in zip(morph.names, morph.weights) if w > 0.01},
        "vertices": int(len(morph.mesh.vertices)),
        "texture_size": int(avatar.texture.shape[-1]),
        "texels_from_photo": round(float(avatar.known.float().mean()), 4),
        "eyeballs": avatar.eyes,
        "crop": {
            "origin": list(avatar.crop.origin),
            "side": avatar.crop.side,
            "box": [round(v) for v in avatar.crop.box],
        },
        "depth_range_camera_units": [round(v, 5) for v in depth_range],
        "latent": [round(float(v), 5) for v in avatar.latent],
        "notes": avatar.notes,
        "cartoon": cartoon,
    }


CAPTIONS = (
    "crop; landmarks: dlib (green), coarse (red), fine (blue)",
    "fitted mesh over the crop",
    "textured (projection + diffusion)",
    "toon shading",
    "textured, yaw -30 deg",
    "textured, yaw +30 deg",
    "toon, yaw -25 deg",
    "normals (camera space)",
)


def captioned(panels: list[np.ndarray], captions: tuple[str, ...], height: int = 16) -> np.ndarray:
    """Panels ``[S, S, 3]`` side by side with a caption strip under each (PIL's default font)."""
    row = np.concatenate(panels, 1)
    strip = Image.new("RGB", (row.shape[1], height), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    for k, text in enumerate(captions):
        draw.text((k * panels[0].shape[1] + 4, 2), text, fill=(0, 0, 0))
    return np.concatenate([row, np.asarray(strip)], 0)


def photo_crop(avatar: Avatar) -> Tensor:
    """The photo's crop (``avatar.crop.image`` holds the cartoon when one was made)."""
    return avatar.crop.image if avatar.photo_image is None else avatar.photo_image


def overlay_picture(avatar: Avatar, render: dict[str, Tensor]) -> np.ndarray:
    """The crop with the reconstruction's shaded geometry blended over it (where the mesh covers it)."""
    n = render["normals"][0]
    light = torch.tensor([-0.3, -0.4, -1.0])
    shade = (n * (light / light.norm())[:, None, None]).sum(0).clamp(0, 1)  # [S, S]
    grey = (0.25 + 0.75 * shade)[None].expand(3, -1, -1) * 2 - 1
    m = render["mask"][0] * 0.6
    return to_uint8(avatar.crop.image[0] * (1 - m) + grey * m)


__all__ = ["build_rig", "identity_similarity", "write_avatar_files"]
