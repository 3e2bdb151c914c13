"""EG3D throughput: G forward, G forward+backward, D forward+backward (images/s) and the renderer's cost per ray.

    python benchmarks/eg3d_speed.py                       # EG3D-lite (64 px, 32^2 rays, 24 + 24 samples), batch 4
    python benchmarks/eg3d_speed.py --threads 1 2         # every case on 1 and on 2 threads, alternating
    python benchmarks/eg3d_speed.py --preset ffhq512 --batch 1 --device cuda

Cases use the shared protocol (``benchmarks/protocol.py``): warm-up for every side, alternating rounds (here the
sides are thread counts, set inside each closure), medians with interquartile ranges. "render" is the volume
rendering alone (tri-planes given: rays, both sampling passes, decoder, marcher), reported per ray and per sample
point; forward passes run under ``no_grad`` with deterministic sampling, backward passes with EG3D's random
sampling as in training.
"""

from __future__ import annotations

import argparse

import torch
from protocol import compare, machine_limits, report_header

from toonlift.plugins.eg3d.backbone import PRESETS, EG3DBackbone
from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator
from toonlift.plugins.eg3d.rays import camera_rays
from toonlift.plugins.eg3d.renderer import render_rays


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="lite64", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--pairs", type=int, default=7, help="alternating timed rounds (>= 5)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, nargs="+", default=[torch.get_num_threads()])
    p.add_argument("--skip_backward", action="store_true")
    a = p.parse_args()
    device = torch.device(a.device)
    torch.set_num_threads(max(a.threads))
    print(report_header(device))
    limits = machine_limits(device)
    torch.manual_seed(0)
    g = EG3DBackbone.preset(a.preset).to(device)
    d = EG3DDualDiscriminator(g.resolution, g.neural_resolution, channel_base=g.arch_args()["channel_base"],
                              channel_max=g.arch_args()["channel_max"]).to(device)  # fmt: skip
    z = g.sample_z(a.batch, generator=torch.Generator().manual_seed(1)).to(device)
    c = g.sample_cond(a.batch, generator=torch.Generator(device=device).manual_seed(2))
    r = g.neural_resolution
    opts = g.render_options
    samples = opts.depth_samples + opts.importance_samples
    print(f"preset {a.preset}: {g.resolution} px, {r}^2 rays x ({opts.depth_samples} + {opts.importance_samples}) "
          f"samples, batch {a.batch}, {a.pairs} pairs, threads {a.threads}")  # fmt: skip
    with torch.no_grad():
        planes = g.synthesize_planes(g.mapping(z, c))
        image = g(z, c)
    origins, dirs = camera_rays(c, r)

    def g_fwd() -> None:
        with torch.no_grad():
            g(z, c)

    def g_fwd_bwd() -> None:
        g(z, c, noise_mode="random").image.square().mean().backward()

    def d_fwd_bwd() -> None:
        x = image.image.detach().requires_grad_(True)
        d(x, c, image.image_raw.detach()).sum().backward()

    def render() -> None:
        with torch.no_grad():
            render_rays(planes, g.decoder, origins, dirs, opts, jitter=False)

    cases = {"G forward": g_fwd, "render": render}
    if not a.skip_backward:
        cases.update({"G forward+backward": g_fwd_bwd, "D forward+backward": d_fwd_bwd})
    flops = _flops(lambda: g(z, c))  # the counter's module hooks need autograd on; no backward runs
    for name, fn in cases.items():

        def with_threads(t: int, fn=fn) -> object:
            def run() -> None:
                torch.set_num_threads(t)
                fn()

            return run

        result = compare({f"{t}t": with_threads(t) for t in a.threads}, pairs=a.pairs, warmup=a.warmup, device=device)
        parts = []
        for t in a.threads:
            s = result.times[f"{t}t"]
            if name == "render":
                rays = a.batch * r * r
                per_ray, per_sample = s.median / rays * 1e6, s.median / (rays * samples) * 1e9
                parts.append(
                    f"{t} thread(s): {per_ray:.3g} us/ray, {per_sample:.3g} ns/sample ({s.text(1e3, '.4g')} ms)"
                )
            else:
                extra = (
                    f", {100 * limits.fraction_of_sgemm(flops, s.median):.0f} % of sgemm" if name == "G forward" else ""
                )
                parts.append(f"{t} thread(s): {a.batch / s.median:.4g} img/s ({s.text(1e3, '.4g')} ms{extra})")
        print(f"{name:<20} " + " | ".join(parts), flush=True)


def _flops(fn) -> float:  # noqa: ANN001
    """Floating-point operations of one call (convolutions and matrix products, by torch's counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


if __name__ == "__main__":
    main()
