"""Derive (and check) the 468 -> 68 correspondence of MediaPipe's Face Mesh on the synthetic world.

    python benchmarks/derive_mediapipe_68.py --faces 48 --seed 7

Renders ``--faces`` photo faces at 256 px (the world's poses halved), runs BlazeFace + Face Mesh, and for each of the
68 iBUG points picks the mesh index with the smallest median distance to the true point. Prints the derived table,
whether it equals the shipped ``MESH_TO_IBUG``, and the mean error of both per iBUG group (pixels).
"""

from __future__ import annotations

import argparse

import numpy as np

from toonlift.plugins.landmarks.base import GROUPS, to_uint8_images
from toonlift.plugins.landmarks.mediapipe_ibug import MESH_TO_IBUG, derive_correspondence
from toonlift.plugins.landmarks.mediapipe_runtime import detect_faces, face_mesh
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import FaceParams, sample_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=48)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    p = sample_params(args.seed, range(args.faces))
    p = FaceParams(**{**p.__dict__, "pose": p.pose * 0.5})
    out = FaceRenderer()(p, "photo", 256)
    mesh, truth = [], []
    for i, im in enumerate(to_uint8_images(out["image"])):
        faces = detect_faces(im)
        if faces:
            mesh.append(face_mesh(im, faces[0][0])[0][:, :2])
            truth.append(out["landmarks"][i].numpy())
    m, t = np.stack(mesh), np.stack(truth)
    idx, _ = derive_correspondence(m, t)
    print(f"faces found {len(m)}/{args.faces}")
    print("derived table:", tuple(int(i) for i in idx))
    print("equals MESH_TO_IBUG:", tuple(int(i) for i in idx) == MESH_TO_IBUG)
    for name, table in (("derived", idx), ("shipped", np.array(MESH_TO_IBUG))):
        err = np.linalg.norm(m[:, table] - t, axis=-1)  # [N, 68]
        groups = ", ".join(f"{g} {err[:, list(ix)].mean():.1f}" for g, ix in GROUPS.items())
        print(f"{name}: {groups}, total {err.mean():.2f} px")


if __name__ == "__main__":
    main()
