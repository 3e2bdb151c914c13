"""This checkout against another one in the same process: alternating rounds, so machine load hits both alike.

    python benchmarks/ab_checkout.py --other /path/to/old/checkout renderer 64 128 256
    python benchmarks/ab_checkout.py --other /path/to/old/checkout vlda

On a shared machine two separate runs of a benchmark can differ by more than the change being measured; here the
other checkout's ``toonlift`` package is copied to a temporary folder under the name ``othertl`` (its imports
rewritten), both are imported, and ``benchmarks/protocol.py`` times them in alternating rounds on the process CPU
clock, 1 thread. Printed: both medians [IQR] and the per-round speed-up of this checkout.

* ``renderer SIZES``: the depth-map pass of ``bench_renderer.py`` (batch 16, forward + backward), ms per view;
* ``vlda``: one iteration of Stage 3's step 2 and of step 3 (with and without the mirrored terms) in
  ``bench_vlda_reference.py``'s configuration, s per iteration.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import compare, report_header  # noqa: E402


def import_other(checkout: Path, tmp: Path) -> str:
    """Copy ``checkout/toonlift`` to ``tmp/othertl`` with its import statements renamed; return the package name."""
    dst = tmp / "othertl"
    shutil.copytree(checkout / "toonlift", dst, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    (dst / "assets").symlink_to((checkout / "toonlift" / "assets").resolve())
    for path in dst.rglob("*.py"):
        text = path.read_text()
        # import statements only: string literals such as file formats ("toonlift.stylegan2.generator") stay
        text = re.sub(r"^(\s*)from toonlift\b", r"\1from othertl", text, flags=re.M)
        text = re.sub(r"^(\s*)import toonlift\b", r"\1import othertl", text, flags=re.M)
        path.write_text(text)
    sys.path.insert(0, str(tmp))
    return "othertl"


def renderer_closure(pkg: str, size: int, batch: int = 16):
    """Forward + backward of the depth-map pass of package ``pkg`` on bench_renderer's inputs."""
    renderer_cls = importlib.import_module(f"{pkg}.plugins.renderers.depth_map").DepthMapRenderer
    light_fn = importlib.import_module(f"{pkg}.functional.shading").reference_light_direction
    g = torch.Generator().manual_seed(size)
    coarse = torch.rand(batch, 1, 6, 6, generator=g) * 0.16 + 0.92
    depth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0].clamp(0.9, 1.1)
    depth.requires_grad_()
    albedo = (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).requires_grad_()
    light = (torch.rand(batch, 2, generator=g) - 0.5).requires_grad_()
    view = torch.zeros(batch, 6)
    view[:, :3] = (torch.rand(batch, 3, generator=g) * 2 - 1) * math.radians(30)
    view[:, 3:5] = (torch.rand(batch, 2, generator=g) * 2 - 1) * 0.05
    renderer = renderer_cls(image_size=size)

    def step() -> None:
        out = renderer(depth, albedo, view, light_fn(light), ambient=0.5, diffuse=0.5)
        (out.image * out.mask).mean().backward()

    return step


def vlda_closures(pkg: str, tmp: Path) -> dict:
    """One iteration of step 2, step 3 with and without the mirrored terms, for package ``pkg``."""
    import bench_vlda_reference as ref

    saved = {k: v for k, v in sys.modules.items() if k == "toonlift" or k.startswith("toonlift.")}
    if pkg != "toonlift":  # build the module from the other package: point the script's imports at it
        for name in list(saved):
            with contextlib.suppress(ImportError):  # a module only this checkout has: the other side lacks it
                sys.modules[name] = importlib.import_module(pkg + name[len("toonlift") :])
        ref = importlib.reload(ref)
    m = ref.build(str(tmp / pkg), 16, 4)
    m._prepare(0)
    m.index = 0
    opts = dict(zip(("init", "step1", "step2", "step3"), m.configure_optimizers()))

    def iteration(phase: str, stage: int):
        def step() -> None:  # the phase and stage are set at every call: the closures alternate
            m.state.phase, m.state.stage = phase, stage
            m.nets.set_trainable(phase)
            loss, _ = getattr(m, f"_loss_{phase}")()
            opts[phase].zero_grad()
            loss.backward()
            opts[phase].step()
            m.state.iteration += 1

        return step

    m._collect()
    out = {
        "step2": iteration("step2", 0),
        "step3 mirrored": iteration("step3", 0),
        "step3 plain": iteration("step3", 1),
    }
    sys.modules.update(saved)
    importlib.reload(ref)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--other", required=True, help="the other checkout (a folder holding toonlift/)")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("what", choices=("renderer", "vlda"))
    ap.add_argument("sizes", type=int, nargs="*", default=[64, 128])
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(report_header())
    with tempfile.TemporaryDirectory() as tmp:
        other = import_other(Path(args.other), Path(tmp))
        if args.what == "renderer":
            for size in args.sizes:
                fns = {"other": renderer_closure(other, size), "this": renderer_closure("toonlift", size)}
                r = compare(fns, pairs=args.pairs, warmup=2, clock=time.process_time)
                print(
                    f"depth-map pass {size} px: other {r.times['other'].text(1e3 / 16)} ms/view, this "
                    f"{r.times['this'].text(1e3 / 16)} ms/view, speed-up x{r.ratio('other', 'this').text()}",
                    flush=True,
                )
            return
        sides = {"other": vlda_closures(other, Path(tmp)), "this": vlda_closures("toonlift", Path(tmp))}
        for phase in sides["this"]:
            fns = {side: sides[side][phase] for side in sides}
            r = compare(fns, pairs=args.pairs, warmup=1, clock=time.process_time)
            print(
                f"{phase}: other {r.times['other'].text()} s, this {r.times['this'].text()} s, "
                f"speed-up x{r.ratio('other', 'this').text()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
