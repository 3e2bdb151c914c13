"""StyleGAN2 throughput: G forward, G forward+backward, D forward+backward (images/s), best of N repeats.

    python benchmarks/stylegan2_speed.py --size 256 --batch 4 --repeats 3
    python benchmarks/stylegan2_speed.py --reference ~/src/stylegan2-pytorch   # also time rosinality's model.py

``--reference`` points at a checkout of rosinality/stylegan2-pytorch (not shipped with toonlift). Its custom-op
build is stubbed out (CPU only, its pure-PyTorch path), both models get the same random state dict, the image and
logit differences are printed, and the two implementations are timed interleaved so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import types
from collections.abc import Callable

import torch

from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator


def _time(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


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
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--reference", default=None, help="path of a rosinality/stylegan2-pytorch checkout")
    p.add_argument("--skip_backward", action="store_true")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} device={device}")
    if device.type == "cuda":
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, size {a.size}, batch {a.batch}, "
        f"channel_multiplier {a.channel_multiplier}, best of {a.repeats}"
    )

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
        ref_cases["G forward"] = lambda: rG([z], randomize_noise=False)
        if not a.skip_backward:
            ref_cases["G forward+backward"] = lambda: rG([z], randomize_noise=False)[0].square().mean().backward()
            ref_cases["D forward+backward"] = lambda: rD(x.requires_grad_(True)).sum().backward()

    for name, fn in cases.items():
        fn()  # warm-up
        ours, theirs = [], []
        for _ in range(a.repeats):
            ours.append(_time(fn, device))
            if name in ref_cases:
                theirs.append(_time(ref_cases[name], device))
        line = f"{name:<20} toonlift {a.batch / min(ours):7.3f} img/s ({min(ours):6.2f} s/batch)"
        if theirs:
            speedup = min(theirs) / min(ours)
            line += f" | reference {a.batch / min(theirs):7.3f} img/s ({min(theirs):6.2f} s) | x{speedup:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
