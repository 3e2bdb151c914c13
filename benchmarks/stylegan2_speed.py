"""StyleGAN2 throughput: G forward, G forward+backward, D forward+backward (images/s), with the shared protocol.

    python benchmarks/stylegan2_speed.py --size 256 --batch 4 --pairs 7
    python benchmarks/stylegan2_speed.py --reference ~/src/stylegan2-pytorch   # also time rosinality's model.py

``--reference`` points at a checkout of rosinality/stylegan2-pytorch (not shipped with toonlift). Its custom-op
build is stubbed out (CPU only, its pure-PyTorch path), both models get the same random state dict, and the image
and logit differences are printed. Both sides run the same closure shape in the same autograd mode (forward under
``no_grad``), get the same warm-up, and are timed in alternating pairs (``benchmarks/protocol.py``); each line gives
medians with their interquartile range, the per-pair speed-up, and the fraction of this machine's sgemm throughput
that toonlift's forward reaches (from the generator's multiply-add count).
"""

from __future__ import annotations

import argparse
import os
import sys
import types

import torch
from protocol import compare, machine_limits, report_header

from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator


def _import_reference(path: str):
    """rosinality's model.py with its JIT C++/CUDA build stubbed (pure-PyTorch CPU path)."""
    import torch.utils.cpp_extension as ce

    original = ce.load
    ce.load = lambda *a, **k: types.SimpleNamespace()
    sys.path.insert(0, os.path.expanduser(path))
    try:
        import model as reference  # noqa: PLC0415 - rosinality's top-level module name
    finally:
        ce.load = original
    return reference


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--channel_multiplier", type=int, default=2)
    p.add_argument("--pairs", type=int, default=7, help="alternating timed rounds (>= 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls of each side first")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--reference", default=None, help="path of a rosinality/stylegan2-pytorch checkout")
    p.add_argument("--skip_backward", action="store_true")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    print(report_header(device))
    print(f"size {a.size}, batch {a.batch}, channel_multiplier {a.channel_multiplier}, {a.pairs} pairs")
    limits = machine_limits(device)

    torch.manual_seed(0)
    G = StyleGAN2Backbone(a.size, channel_multiplier=a.channel_multiplier).to(device)
    D = StyleGAN2Discriminator(a.size, channel_multiplier=a.channel_multiplier).to(device)
    z = torch.randn(a.batch, 512, device=device)
    x = torch.randn(a.batch, 3, a.size, a.size, device=device)

    def g_fwd(g=G):
        with torch.no_grad():
            return g(z).image

    def g_fwd_bwd(g=G):
        g(z).image.square().mean().backward()

    def d_fwd_bwd(d=D):
        d(x.requires_grad_(True)).sum().backward()

    cases = {"G forward": g_fwd}
    if not a.skip_backward:
        cases.update({"G forward+backward": g_fwd_bwd, "D forward+backward": d_fwd_bwd})

    ref_cases = {}
    if a.reference:
        if device.type != "cpu":
            raise SystemExit("--reference runs rosinality's pure-PyTorch path, which is CPU only here")
        ref = _import_reference(a.reference)
        rG = ref.Generator(a.size, 512, 8, channel_multiplier=a.channel_multiplier)
        rG.load_state_dict(G.state_dict())
        rD = ref.Discriminator(a.size, channel_multiplier=a.channel_multiplier)
        rD.load_state_dict(D.state_dict())
        with torch.no_grad():
            diff = (rG([z], randomize_noise=False)[0] - G(z).image).abs().max().item()
            la, lb = rD(x), D(x)
            rel = ((la - lb).abs() / la.abs().clamp_min(1e-12)).max().item()
        print(f"vs reference: image max abs diff {diff:.2e}, D logit max rel diff {rel:.2e}")

        def ref_g_fwd() -> None:
            with torch.no_grad():  # the same autograd mode as toonlift's side
                rG([z], randomize_noise=False)

        ref_cases["G forward"] = ref_g_fwd
        if not a.skip_backward:
            ref_cases["G forward+backward"] = lambda: rG([z], randomize_noise=False)[0].square().mean().backward()
            ref_cases["D forward+backward"] = lambda: rD(x.requires_grad_(True)).sum().backward()

    macs = _generator_macs(G, a.batch, device)
    for name, fn in cases.items():
        sides = {"toonlift": fn, **({"reference": ref_cases[name]} if name in ref_cases else {})}
        result = compare(sides, pairs=a.pairs, warmup=a.warmup, device=device)
        if "reference" in sides:
            line = result.line("reference", "toonlift", unit_work=a.batch, unit="img")
        else:
            t = result.times["toonlift"]
            line = f"toonlift {a.batch / t.median:.4g} img/s ({t.text(1e3, '.4g')} ms)"
        if name == "G forward":
            line += f" | {100 * limits.fraction_of_sgemm(2 * macs, result.times['toonlift'].median):.0f} % of sgemm"
        print(f"{name:<20} {line}", flush=True)


def _generator_macs(g: torch.nn.Module, batch: int, device: torch.device) -> float:
    """Multiply-adds of one generator forward (convolutions and linear layers), counted by a FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    z = torch.randn(batch, g.z_dim, device=device)
    with FlopCounterMode(display=False) as counter:  # its module hooks need autograd on; no backward runs
        g(z)
    return counter.get_total_flops() / 2


if __name__ == "__main__":
    main()
