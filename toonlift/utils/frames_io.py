"""Read a video or a folder of images as RGB frames, and write frames as an MP4 or a GIF.

Videos go through imageio's ``FFMPEG`` plugin: ``imageio-ffmpeg`` ships an ffmpeg binary in its wheel, so nothing
outside pip is needed. Bad input (a missing or empty folder, a file ffmpeg cannot decode) raises one
:class:`~toonlift.errors.ConfigError` that names the path and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from toonlift.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".gif")


def _rgb(frame: np.ndarray) -> np.ndarray:
    """``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]`` -> ``[H, W, 3]`` uint8."""
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    a = a[..., :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def frame_paths(folder: Path) -> list[Path]:
    """The image files of ``folder`` in name order (a ``ConfigError`` if it is missing or holds none)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"The frames folder {folder} does not exist; pass a folder of images (PNG or JPEG files).")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise ConfigError(
            f"The frames folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); put the sequence's frames "
            "there, named so that their sorted order is the time order (frame_0000.png, frame_0001.png, ...)."
        )
    return paths


def iter_frames(video: Path | None = None, frames_dir: Path | None = None) -> tuple[Iterator[np.ndarray], float]:
    """``(frames, fps)``: an iterator of ``[H, W, 3]`` uint8 RGB frames of ``video`` or ``frames_dir`` (exactly one),
    and the video's frame rate (25 for a folder or when the file does not say)."""
    import imageio.v3 as iio

    if (video is None) == (frames_dir is None):
        raise ConfigError("Pass exactly one of a video file (--video) and a folder of frames (--frames-dir).")
    if frames_dir is not None:
        paths = frame_paths(frames_dir)

        def read_folder() -> Iterator[np.ndarray]:
            for p in paths:
                try:
                    yield _rgb(iio.imread(p))
                except Exception as e:  # noqa: BLE001 - any decoder failure is the same user error
                    raise ConfigError(f"Cannot read the image {p} ({type(e).__name__}); remove or re-save it.") from e

        return read_folder(), 25.0
    video = Path(video)
    if not video.is_file():
        raise ConfigError(f"The video {video} does not exist; pass the path of an MP4 (or any file ffmpeg reads).")
    try:
        meta = iio.immeta(video, plugin="FFMPEG")
        first = iio.imiter(video, plugin="FFMPEG")
        head = next(first)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(
            f"Cannot read the video {video}: ffmpeg (imageio-ffmpeg) does not decode it ({type(e).__name__}). "
            "Check that the file is a complete video (e.g. play it), or convert it to H.264 MP4 or to a folder of "
            "PNG frames (--frames-dir)."
        ) from e
    fps = float(meta.get("fps") or 25.0)

    def read_video() -> Iterator[np.ndarray]:
        yield _rgb(head)
        for frame in first:
            yield _rgb(frame)

    return read_video(), fps


def write_video(frames: Sequence[np.ndarray], path: Path, fps: float = 25.0) -> Path:
    """Write ``[H, W, 3]`` uint8 frames to ``path`` (``.mp4``: H.264 through ffmpeg; ``.gif``), by a temporary name
    renamed when complete."""
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ConfigError(f"Cannot write {path}: the animation format must be one of {', '.join(VIDEO_SUFFIXES)}.")
    if not len(frames):
        raise ConfigError(f"No frames to write to {path}.")
    tmp = path.with_name(f".{path.stem}.tmp{suffix}")
    stack = np.stack([_rgb(f) for f in frames])
    if suffix == ".mp4":
        # H.264 with yuv420p needs even sides: pad by one pixel of the edge where needed
        h, w = stack.shape[1:3]
        stack = np.pad(stack, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        iio.imwrite(tmp, stack, plugin="FFMPEG", fps=fps, macro_block_size=1)
    else:
        iio.imwrite(tmp, stack, extension=".gif", duration=1000.0 / fps, loop=0)
    tmp.replace(path)
    return path
