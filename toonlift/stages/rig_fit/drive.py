"""Drive a rigged avatar from a video or an image sequence: per-frame landmarks -> ``beta`` -> the avatar's mesh.

Each frame's 68 landmarks come from a landmark-detector plugin (``dlib68`` by default). :class:`LandmarkTracker`
runs the detector's full face search on the first frame (and whenever the face is lost or every
``redetect_every`` frames); in between, a detector that offers ``landmarks_in_box`` (dlib's shape predictor) is
given a box carried over from the previous frame's points, which skips the face search (~1 ms instead of ~60 ms).
The weights and a weak-perspective camera come from :func:`toonlift.functional.landmark_solve.solve_weights`
(bounded least squares after a rigid alignment, warm-started from the previous frame), then causal exponential
smoothing; the head pose follows the recovered camera. Frames without a face keep the previous weights and pose.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from toonlift.errors import ConfigError
from toonlift.export.viewer import write_viewer
from toonlift.functional.landmark_solve import identifiable_targets, jitter, project_weak_perspective, solve_weights
from toonlift.functional.rig_runtime import SparseRig
from toonlift.stages.rig_fit.animate import load_avatar, recovered_cameras, render_frames
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.utils.frames_io import write_video
from toonlift.utils.io import atomic_write_bytes

TARGET_SETS = ("facs", "world")
LandmarkFn = Callable[[np.ndarray], "np.ndarray | None"]


class LandmarkTracker:
    """Per-frame landmarks ``[68, 2]`` (or ``None``: no face) of ``[H, W, 3]`` uint8 frames from a detector plugin.

    A detector with ``face_boxes(image, upsample)`` and ``landmarks_in_box(image, box)`` (``dlib68``) is tracked:
    after a full search, each frame's face box is found again inside a crop around the last box, scaled so that
    the face is ``TRACK_WIDTH`` pixels wide, without upsampling (a few ms instead of a full search); the shape
    predictor then runs on that box in the full frame. Boxes always come from the face detector, as the predictor
    was trained with, so errors do not feed back from frame to frame. Other detectors run on every frame.

    Args:
        detector: a :class:`~toonlift.plugins.landmarks.base.LandmarkDetector`.
        redetect_every: run the full face search every this many frames even while tracking (0: only when lost).
    """

    TRACK_WIDTH = 120  # pixels: comfortably above the HOG detector's 80-pixel window

    def __init__(self, detector, redetect_every: int = 0) -> None:
        self.detector = detector
        self.redetect_every = int(redetect_every)
        self.can_track = callable(getattr(detector, "landmarks_in_box", None)) and callable(
            getattr(detector, "face_boxes", None)
        )
        self.box: np.ndarray | None = None  # [4] the last face box, full-frame pixels
        self.since = 0
        self.searches = 0

    def _search(self, frame: np.ndarray) -> np.ndarray | None:
        self.searches += 1
        self.since = 0
        if self.can_track:
            boxes = self.detector.face_boxes(frame)
            if not boxes:
                self.box = None
                return None
            self.box = np.asarray(boxes[0][0], np.float64)
            return self.detector.landmarks_in_box(frame, tuple(self.box))
        image = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        out = self.detector(image)
        return out.points[0].double().numpy() if bool(out.found[0]) else None

    def _track(self, frame: np.ndarray) -> np.ndarray | None:
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = self.box
        side = max(x1 - x0, y1 - y0)
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, side  # a crop twice the face's size
        cx0, cy0 = int(max(0, cx - half)), int(max(0, cy - half))
        cx1, cy1 = int(min(w, cx + half)), int(min(h, cy + half))
        crop = frame[cy0:cy1, cx0:cx1]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            return None
        f = self.TRACK_WIDTH / side
        small = _resize(crop, max(8, round(crop.shape[0] * f)))
        f = small.shape[0] / crop.shape[0]
        boxes = self.detector.face_boxes(small, 0) or self.detector.face_boxes(small, 1)  # upsampled if missed
        if not boxes:
            return None
        bx0, by0, bx1, by1 = boxes[0][0]
        self.box = np.array([cx0 + bx0 / f, cy0 + by0 / f, cx0 + bx1 / f, cy0 + by1 / f])
        self.since += 1
        return self.detector.landmarks_in_box(frame, tuple(self.box))

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        due = self.redetect_every and self.since >= self.redetect_every
        points = None
        if self.can_track and self.box is not None and not due:
            points = self._track(frame)
        if points is None:  # the first frame, a lost face, or a scheduled search
            points = self._search(frame)
        return points


def _resize(frame: np.ndarray, height: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if h == height:
        return frame
    x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
    y = torch.nn.functional.interpolate(x, size=(height, round(w * height / h)), mode="bilinear", antialias=True)
    return y[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def drive_frames(
    folder: Path,
    frames: Iterable[np.ndarray],
    landmarks: LandmarkFn,
    out: Path,
    alpha: float = 0.5,
    ridge: float = 1.0,
    tol: float = 0.3,
    targets: str = "facs",
    fmt: str = "mp4",
    fps: float = 25.0,
    max_frames: int | None = None,
    out_height: int = 256,
) -> dict:
    """Drive the avatar of ``folder`` through ``frames`` (``[H, W, 3]`` uint8) with ``landmarks(frame)``.

    Writes ``animation.json`` + ``viewer.html`` (the avatar playing the recovered weights), ``driven.mp4`` or
    ``driven.gif`` (left: the input with its landmarks; right: the avatar under the recovered pose), ``beta.npy``
    (``[T, K]`` smoothed weights of ``metrics["solved_targets"]``) and ``metrics.json``. Returns the metrics.
    """
    if targets not in TARGET_SETS:
        raise ConfigError(f"Unknown target set '{targets}'; choose one of {', '.join(TARGET_SETS)}.")
    if fmt not in ("mp4", "gif"):
        raise ConfigError(f"Unknown animation format '{fmt}'; choose mp4 or gif.")
    morph, lm = load_avatar(folder)
    neutral = morph.mesh.vertices.astype(np.float64)
    offsets = morph.targets.astype(np.float64)  # [E, V, 3]
    pool = [i for i, n in enumerate(morph.names) if targets == "facs" or n in EXPRESSION_NAMES]
    keep = [pool[i] for i in identifiable_targets(offsets[pool][:, lm], tol)]
    dk = offsets[keep]
    n_lm, d_lm = neutral[lm], dk[:, lm]
    player = SparseRig(neutral, dk)  # S0 + B beta per frame, as a live player would make the mesh
    raw, smooth, cams, shown, found = [], [], [], [], []
    t_read = t_detect = t_solve = 0.0
    it = iter(frames)
    start, cpu_start = time.perf_counter(), time.process_time()
    while max_frames is None or len(raw) < max_frames:
        t0 = time.perf_counter()
        frame = next(it, None)
        if frame is None:
            break
        t1 = time.perf_counter()
        pts = landmarks(frame)
        t2 = time.perf_counter()
        if pts is None:  # keep the last weights and pose (or rest at the image centre before the first face)
            b = raw[-1] if raw else np.zeros(len(keep))
            h, w = frame.shape[:2]
            cam = cams[-1] if cams else (np.diag([0.33 * h, -0.33 * h, 0.0])[:2], np.array([w / 2, h / 2]))
        else:
            # warm-started from the previous frame, 3 pose/weight alternations reach the 20-step answer (to ~1e-3)
            warm = dict(init=raw[-1], iterations=3, tol=1e-4) if raw else {}
            b, m, t = solve_weights(pts, n_lm, d_lm, ridge=ridge, **warm)
            cam = (m, t)
        raw.append(b)
        smooth.append(b if len(smooth) == 0 else alpha * b + (1 - alpha) * smooth[-1])
        _ = player.deform(smooth[-1])
        t3 = time.perf_counter()
        t_read, t_detect, t_solve = t_read + t1 - t0, t_detect + t2 - t1, t_solve + t3 - t2
        cams.append(cam)
        found.append(pts is not None)
        shown.append((frame, pts))
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if not raw:
        raise ConfigError("The input has no frames; pass a video or a folder with at least one image.")
    raw_a, smooth_a = np.array(raw), np.array(smooth)

    full = np.zeros((len(raw), len(morph.names)))
    full[:, keep] = smooth_a
    animation = {"fps": float(fps), "names": list(morph.names), "weights": np.round(full, 4).tolist()}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "animation.json", json.dumps(animation).encode())
    write_viewer(folder / "avatar.glb", out=out / "viewer.html", animation=animation, title="toonlift: driven avatar")
    np.save(out / "beta.npy", smooth_a)

    # the side-by-side animation at out_height rows (the camera scaled with the frame)
    h0 = shown[0][0].shape[0]
    f = min(out_height, h0) / h0
    rots, cam_px = recovered_cameras(cams)
    cam_px = cam_px * f
    meshes = neutral[None] + np.einsum("tk,kvj->tvj", smooth_a, dk)
    colours = morph.mesh.vertex_colors if morph.mesh.vertex_colors is not None else np.full((len(neutral), 3), 200)
    pictures = []
    for i, (frame, pts) in enumerate(shown):
        left = _resize(frame, round(h0 * f)).copy()
        hh, ww = left.shape[:2]
        right = render_frames(meshes[i : i + 1], morph.mesh.faces, colours, rots[i : i + 1], cam_px[i : i + 1], hh, ww)[
            0
        ]
        if pts is not None:
            xy = np.clip(np.round(pts * f).astype(int), 0, [ww - 1, hh - 1])
            left[xy[:, 1], xy[:, 0]] = (230, 30, 30)
        pictures.append(np.concatenate([left, right], 1))
    video = write_video(pictures, out / f"driven.{fmt}", fps=fps)

    ok = [i for i, v in enumerate(found) if v]
    reproj = [project_weak_perspective(n_lm + np.tensordot(raw[i], d_lm, axes=1), *cams[i]) - shown[i][1] for i in ok]
    metrics = {
        "camera": "weak perspective (scaled orthographic)",
        "frames": len(raw),
        "frames_with_face": len(ok),
        "smoothing_alpha": alpha,
        "ridge": ridge,
        "identifiable_tol": tol,
        "solved_targets": [morph.names[i] for i in keep],
        "jitter_raw": jitter(raw_a),
        "jitter_smoothed": jitter(smooth_a),
        "reprojection_rmse_px": float(np.sqrt(np.mean(np.square(reproj)))) if ok else None,
        "seconds": {"read": t_read, "landmarks": t_detect, "solve_and_mesh": t_solve, "total": total, "cpu": cpu},
        "frames_per_second_end_to_end": len(raw) / total,
        "frames_per_cpu_second": len(raw) / cpu,  # this process's CPU time: what the work costs on a busy machine
        "video": video.name,
    }
    atomic_write_bytes(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    return metrics
