"""Benchmark the pure-PyTorch renderer: forward+backward timings and their scaling in pixels and triangles.

    python benchmarks/bench_renderer.py                 # CPU, all cases
    python benchmarks/bench_renderer.py --device cuda   # GPU when available
    python benchmarks/bench_renderer.py --threads 1 --repeats 3

Reported times are the **best of several repeats** (the machine may be shared), in milliseconds, and include the
backward pass. Cases:

* ``depth_map``: DepthMapRenderer forward (normals, Lambert, grid-mesh rasterisation from a random view, inverse
  warp, ``grid_sample``) + backward to depth, albedo and light, batch 16, at 64 / 128 / 256 px.
* ``mesh``: MeshRenderer (Lambert, vertex colours) of a UV sphere + backward to vertices and colours, one image:
  50k triangles at 256 / 512 / 1024 px, and 12.5k ... 200k triangles at 512 px.
* ``rasterise``: ``rasterize`` alone (forward) of 50k ... 800k-triangle spheres at 256 px (triangle-bound).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import rasterize
from toonlift.functional.shading import reference_light_direction
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.plugins.renderers.mesh import MeshRenderer


def best_time(fn: Callable[[], None], repeats: int, device: torch.device) -> tuple[float, float]:
    """Best wall time and best process CPU time, in ms, of ``repeats`` calls after one warm-up call.

    On a shared machine the wall time includes time spent descheduled; the process CPU time (all threads) does not,
    so with one thread it is the cost an idle core would see.
    """
    fn()
    best_wall = best_cpu = math.inf
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t, c = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best_wall = min(best_wall, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall * 1000.0, best_cpu * 1000.0


def depth_map_case(size: int, batch: int, repeats: int, device: torch.device) -> tuple[float, float]:
    g = torch.Generator().manual_seed(size)
    coarse = torch.rand(batch, 1, 6, 6, generator=g) * 0.16 + 0.92
    depth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0].clamp(0.9, 1.1)
    depth = depth.to(device).requires_grad_()
    albedo = (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).to(device).requires_grad_()
    light = (torch.rand(batch, 2, generator=g) - 0.5).to(device).requires_grad_()
    view = torch.zeros(batch, 6)
    view[:, :3] = (torch.rand(batch, 3, generator=g) * 2 - 1) * math.radians(30)
    view[:, 3:5] = (torch.rand(batch, 2, generator=g) * 2 - 1) * 0.05
    view = view.to(device)
    renderer = DepthMapRenderer(image_size=size).to(device)

    def step() -> None:
        out = renderer(depth, albedo, view, reference_light_direction(light), ambient=0.5, diffuse=0.5)
        (out.image * out.mask).mean().backward()

    return best_time(step, repeats, device)


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


def mesh_case(size: int, n_faces: int, repeats: int, device: torch.device) -> tuple[float, float, int]:
    v, faces = uv_sphere(n_faces)
    v, faces = v.to(device).requires_grad_(), faces.to(device)
    colors = torch.rand(1, v.shape[1], 3, device=device).requires_grad_()
    renderer = MeshRenderer(image_size=size, fov=10.0, shading="lambert").to(device)
    light = F.normalize(torch.tensor([[0.3, -0.3, -1.0]], device=device), dim=1)

    def step() -> None:
        out = renderer(v, faces, vertex_colors=colors, light_direction=light)
        out.image.mean().backward()

    return (*best_time(step, repeats, device), int(faces.shape[0]))


def rasterize_case(size: int, n_faces: int, repeats: int, device: torch.device) -> tuple[float, float, int]:
    """Rasterise only (visibility + differentiable barycentrics), no shading, no backward."""
    v, faces = uv_sphere(n_faces)
    v, faces = v.to(device), faces.to(device)
    K = fov_to_intrinsics(10.0, size, device=device)
    screen = project(v, K)
    return (*best_time(lambda: rasterize(screen, faces, size), repeats, device), int(faces.shape[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (the best is reported)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--skip-mesh", action="store_true", help="only the depth-map cases")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    reps = args.repeats
    print(f"machine: {platform.platform()} | cpu count {os.cpu_count()} | python {platform.python_version()}")
    print(f"torch {torch.__version__} | threads {torch.get_num_threads()} | device {device}", end="")
    print(f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"best of {reps} repeats after one warm-up; forward + backward; ms; cpu = process CPU time, all threads\n")

    print(f"| depth-map render, batch {args.batch} | wall ms / batch | wall ms / view | cpu ms / view | cpu us / px |")
    print("|---|---|---|---|---|")
    for size in (64, 128, 256):
        wall, cpu = depth_map_case(size, args.batch, reps, device)
        view, cview = wall / args.batch, cpu / args.batch
        print(f"| {size} px | {wall:.1f} | {view:.2f} | {cview:.2f} | {1000 * cview / (size * size):.3f} |")
    if args.skip_mesh:
        return
    print("\n| mesh render (Lambert, vertex colours), 1 image | triangles | wall ms | cpu ms | cpu us / px |")
    print("|---|---|---|---|---|")
    for size in (256, 512, 1024):
        wall, cpu, nf = mesh_case(size, 50_000, reps, device)
        print(f"| {size} px | {nf} | {wall:.1f} | {cpu:.1f} | {1000 * cpu / (size * size):.3f} |")
    print("\n| mesh render at 512 px | triangles | wall ms | cpu ms | cpu us / triangle |")
    print("|---|---|---|---|---|")
    for n in (12_500, 25_000, 50_000, 100_000, 200_000):
        wall, cpu, nf = mesh_case(512, n, reps, device)
        print(f"| 512 px | {nf} | {wall:.1f} | {cpu:.1f} | {1000 * cpu / nf:.3f} |")
    print("\n| rasterise only (no shading, no backward) at 256 px | triangles | wall ms | cpu ms | cpu us / triangle |")
    print("|---|---|---|---|---|")
    for n in (50_000, 100_000, 200_000, 400_000, 800_000):
        wall, cpu, nf = rasterize_case(256, n, reps, device)
        print(f"| 256 px | {nf} | {wall:.1f} | {cpu:.1f} | {1000 * cpu / nf:.3f} |")


if __name__ == "__main__":
    main()
