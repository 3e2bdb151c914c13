"""Renderer speed with the shared protocol: the depth-map pass against its ``grid_sample`` floor, the mesh renderer.

    python benchmarks/bench_renderer.py --quick              # depth-map pass only, 64 / 128 px
    python benchmarks/bench_renderer.py                      # depth map at 64 / 128 / 256 px, mesh and rasterise
    python benchmarks/bench_renderer.py --clock cpu          # process CPU time instead of wall time (shared machine)

Everything runs forward + backward on ``--threads`` torch threads (default 1, the issue's setting), with warm-up for
every side and alternating rounds (``benchmarks/protocol.py``); figures are medians with their interquartile range.

* ``depth map``: ``DepthMapRenderer`` forward (normals, Lambert, grid-mesh rasterisation from a random view within
  +-30 deg, depth interpolation, inverse warp, ``grid_sample``) + backward to depth, albedo and light, batch 16.
  Its **floor** is one ``grid_sample`` of the same size (``[B, 3, S, S]`` image, ``[B, S, S, 2]`` grid, forward
  + backward to both): the one operation the pass cannot avoid. Each round times both, so the printed ratio is a
  per-round ratio. ``% copy bw`` is the pass's compulsory traffic (64 bytes per pixel: depth, albedo, image, mask,
  depth out, their gradients) over its time, as a fraction of this machine's copy bandwidth measured in the same run
  -- the pass is a long chain of memory-bound element-wise steps, so bandwidth, not sgemm, is its limit.
* ``mesh``: ``MeshRenderer`` (Lambert, vertex colours) of a UV sphere + backward to vertices and colours, one image.
* ``rasterise``: ``rasterize`` alone (forward, visibility + barycentrics) of large spheres at 256 px.

To compare two versions of toonlift, run this script against each (``PYTHONPATH=<checkout>``) on the same machine
state; it only uses APIs both sides have.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
import torch.nn.functional as F
from protocol import Limits, compare, machine_limits, report_header

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import rasterize
from toonlift.functional.shading import reference_light_direction
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.plugins.renderers.mesh import MeshRenderer

BYTES_PER_PIXEL = 64  # compulsory traffic of one depth-map pixel, forward + backward (see the module docstring)


def depth_map_closures(size: int, batch: int) -> tuple:
    """``(render, floor)``: forward+backward closures of the depth-map pass and of its ``grid_sample`` floor."""
    g = torch.Generator().manual_seed(size)
    coarse = torch.rand(batch, 1, 6, 6, generator=g) * 0.16 + 0.92
    depth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0].clamp(0.9, 1.1)
    depth.requires_grad_()
    albedo = (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).requires_grad_()
    light = (torch.rand(batch, 2, generator=g) - 0.5).requires_grad_()
    view = torch.zeros(batch, 6)
    view[:, :3] = (torch.rand(batch, 3, generator=g) * 2 - 1) * math.radians(30)
    view[:, 3:5] = (torch.rand(batch, 2, generator=g) * 2 - 1) * 0.05
    renderer = DepthMapRenderer(image_size=size)
    image = torch.rand(batch, 3, size, size, generator=g).requires_grad_()
    grid = (torch.rand(batch, size, size, 2, generator=g) * 2 - 1).requires_grad_()

    def render() -> None:
        out = renderer(depth, albedo, view, reference_light_direction(light), ambient=0.5, diffuse=0.5)
        (out.image * out.mask).mean().backward()

    def floor() -> None:
        F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=True).mean().backward()

    return render, floor


def uv_sphere(n_faces: int, radius: float = 0.07, z: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A UV sphere with about ``n_faces`` triangles, camera-facing winding, centred on the optical axis."""
    n_lon = max(8, int(round(math.sqrt(n_faces / 1.25))))
    n_lat = max(3, int(round(n_faces / (2 * n_lon))) + 1)
    th = torch.linspace(0, math.pi, n_lat)
    ph = torch.linspace(0, 2 * math.pi, n_lon + 1)[:-1]
    t, p = torch.meshgrid(th, ph, indexing="ij")
    v = torch.stack([radius * t.sin() * p.cos(), radius * t.cos(), radius * t.sin() * p.sin() + z], -1)
    idx = torch.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    nxt = idx.roll(-1, 1)
    a = torch.stack([idx[:-1], nxt[:-1], idx[1:]], -1).reshape(-1, 3)
    b = torch.stack([nxt[:-1], nxt[1:], idx[1:]], -1).reshape(-1, 3)
    return v.reshape(1, -1, 3), torch.cat([a, b])


def mesh_closure(size: int, n_faces: int) -> tuple:
    v, faces = uv_sphere(n_faces)
    v.requires_grad_()
    colors = torch.rand(1, v.shape[1], 3).requires_grad_()
    renderer = MeshRenderer(image_size=size, fov=10.0, shading="lambert")
    light = F.normalize(torch.tensor([[0.3, -0.3, -1.0]]), dim=1)

    def step() -> None:
        renderer(v, faces, vertex_colors=colors, light_direction=light).image.mean().backward()

    return step, int(faces.shape[0])


def depth_map_table(sizes: list[int], batch: int, pairs: int, warmup: int, limits: Limits, clock) -> None:
    print(
        f"\n| depth-map pass, batch {batch}, fwd+bwd | ms / view | grid_sample floor ms / view | x floor (per round) "
        f"| ns / px | % copy bw |"
    )
    print("|---|---|---|---|---|---|")
    for size in sizes:
        render, floor = depth_map_closures(size, batch)
        result = compare({"render": render, "floor": floor}, pairs=pairs, warmup=warmup, clock=clock)
        t, f = result.times["render"], result.times["floor"]
        pixels = batch * size * size
        bw = 100 * limits.fraction_of_bandwidth(BYTES_PER_PIXEL * pixels, t.median)
        print(
            f"| {size} px | {t.text(1e3 / batch, '.3g')} | {f.text(1e3 / batch, '.3g')} "
            f"| {result.ratio('render', 'floor').text(fmt='.3g')} | {t.median * 1e9 / pixels:.0f} | {bw:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--pairs", type=int, default=7, help="alternating timed rounds (>= 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls of each side first")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="depth-map sizes (default 64 128 256)")
    parser.add_argument("--quick", action="store_true", help="depth map at 64 and 128 px only, 5 pairs")
    parser.add_argument("--skip-mesh", action="store_true", help="only the depth-map cases")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="cpu: process CPU time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    pairs = 5 if args.quick else args.pairs
    sizes = args.sizes or ([64, 128] if args.quick else [64, 128, 256])
    print(report_header())
    print(
        f"load average before: {os.getloadavg()[0]:.2f} | clock: {args.clock} | {pairs} alternating pairs, "
        f"{args.warmup} warm-up calls per side | medians [interquartile range]"
    )
    limits = machine_limits()
    depth_map_table(sizes, args.batch, pairs, args.warmup, limits, clock)
    if args.quick or args.skip_mesh:
        return
    print("\n| mesh render (Lambert, vertex colours), 1 image, fwd+bwd | triangles | ms | ns / px |")
    print("|---|---|---|---|")
    for size in (256, 512, 1024):
        step, nf = mesh_closure(size, 50_000)
        t = compare({"mesh": step}, pairs=pairs, warmup=args.warmup, clock=clock).times["mesh"]
        print(f"| {size} px | {nf} | {t.text(1e3, '.3g')} | {t.median * 1e9 / size**2:.0f} |", flush=True)
    print("\n| rasterise only (forward) at 256 px | triangles | ms | ns / triangle |")
    print("|---|---|---|---|")
    for n in (50_000, 200_000, 800_000):
        v, faces = uv_sphere(n)
        screen = project(v, fov_to_intrinsics(10.0, 256))
        t = compare({"r": lambda s=screen, f=faces: rasterize(s, f, 256)}, pairs=pairs, warmup=args.warmup, clock=clock)
        med = t.times["r"]
        print(f"| 256 px | {faces.shape[0]} | {med.text(1e3, '.3g')} | {med.median * 1e9 / faces.shape[0]:.0f} |")


if __name__ == "__main__":
    main()
