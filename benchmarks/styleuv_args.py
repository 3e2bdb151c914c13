"""The flags the StyleFaceUV benchmarks share (``bench_styleuv.py``, ``bench_styleuv_views.py``): the pairs folder,
the parts and UV-generator files, and which inverted faces are held out.
"""

from __future__ import annotations

import argparse


def styleuv_parser(description: str | None, max_faces: int) -> argparse.ArgumentParser:
    """A parser with the shared flags; each benchmark adds its own after them.

    Args:
        description: the benchmark's help text (its module docstring).
        max_faces: default of ``--max-faces``, the number of held-out faces scored after the first ``--train-faces``.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--pairs", required=True)
    p.add_argument("--parts", required=True)
    p.add_argument("--uv", required=True, help="UV generator trained with the symmetric view")
    p.add_argument("--uv-nosym", default=None, help="UV generator trained without it (lambda_mv 0)")
    p.add_argument("--train-faces", type=int, default=32)
    p.add_argument("--max-faces", type=int, default=max_faces)
    return p
