"""``toonlift blend`` and ``toonlift project``: StyleGAN2 command-line tools (registered in ``toonlift.cli``)."""

from __future__ import annotations

from pathlib import Path

import torch
from jsonargparse import ArgumentParser

from toonlift.errors import ConfigError
from toonlift.utils.output_dirs import check_writable_folder, check_writable_parent
from toonlift.utils.threads import apply_threads


def _blend_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="toonlift blend",
        description=(
            "Blend two StyleGAN2 generators layer by layer (Pinkney & Adler's layer swapping): layers up to "
            "(resolution, level) from LOW (structure: pose, shape; also the mapping network, conv1 and noise), the "
            "rest from HIGH (texture), with a hard switch or a sigmoid of --blend_width layer groups. Writes a "
            ".safetensors generator with its .json sidecar."
        ),
    )
    p.add_argument(
        "--low", type=str, required=True, help="low-resolution model: rosinality .pt or toonlift .safetensors"
    )
    p.add_argument("--high", type=str, required=True, help="high-resolution model (same architecture)")
    p.add_argument("--output", type=str, required=True, help="where to write the blended generator (.safetensors)")
    p.add_argument("--resolution", type=int, default=32, help="swap resolution: last resolution taken from LOW")
    p.add_argument("--level", type=int, default=1, help="0: only the upsampling conv of that resolution from LOW")
    p.add_argument("--blend_width", type=float | None, default=None, help="sigmoid width; omit for a hard switch")
    p.add_argument("--toonify_offset", type=bool, default=False, help="switch one group later, as toonify does")
    p.add_argument("--low_key", type=str, default="g_ema", help="generator entry of a .pt LOW checkpoint")
    p.add_argument("--high_key", type=str, default="g_ema", help="generator entry of a .pt HIGH checkpoint")
    return p


def blend_main(argv: list[str]) -> int:
    """Entry of ``toonlift blend``."""
    from toonlift.plugins.stylegan2.blend import blend_generators
    from toonlift.plugins.stylegan2.checkpoint import generator_from_checkpoint, save_generator

    args = _blend_parser().parse_args(argv)
    if not args.output.endswith(".safetensors"):
        raise ConfigError(f"--output must end in .safetensors, got '{args.output}'")
    check_writable_parent(args.output, "blended generator (--output)")  # before loading two generators
    low = generator_from_checkpoint(args.low, args.low_key)
    high = generator_from_checkpoint(args.high, args.high_key)
    blended = blend_generators(low, high, args.resolution, args.level, args.blend_width, args.toonify_offset)
    out = save_generator(blended, args.output)
    print(f"wrote {out} (+ {out.with_suffix('.json').name})")
    return 0


def _project_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="toonlift project",
        description=(
            "Invert a photo into a StyleGAN2's latent space (LPIPS + noise regularisation, the StyleGAN2 projector). "
            "Writes <output_dir>/<image stem>_latent.safetensors (+ .json) with 'latent', 'ws' and the noise maps, "
            "and <image stem>_projection.png (target | reconstruction)."
        ),
    )
    p.add_argument("--checkpoint", type=str, required=True, help="generator: rosinality .pt or toonlift .safetensors")
    p.add_argument("--image", type=str, required=True, help="aligned, square face photo (PNG/JPEG)")
    p.add_argument("--output_dir", type=str, default="projections", help="output folder")
    p.add_argument("--checkpoint_key", type=str, default="g_ema", help="generator entry of a .pt checkpoint")
    p.add_argument("--steps", type=int, default=1000, help="optimisation steps")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    p.add_argument("--w_plus", type=bool, default=False, help="optimise one w per layer (W+)")
    p.add_argument("--noise_regularize", type=float, default=1e5, help="noise regulariser weight")
    p.add_argument("--mse", type=float, default=0.0, help="pixel MSE weight")
    p.add_argument("--lpips_weights", type=str | None, default=None, help="torchvision vgg16-397923af.pth for LPIPS")
    p.add_argument(
        "--allow_random_lpips", type=bool, default=False, help="smoke tests only: random LPIPS backbone if none found"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", type=str, default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0: the free cores)")
    return p


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """An image file as ``[1, 3, size, size]`` in ``[-1, 1]``, read by :mod:`toonlift.utils.image_reading` (16-bit,
    palette, alpha on white, EXIF orientation; centre square crop, Lanczos resize).

    Raises:
        DataError: the file is missing, a folder, corrupt or smaller than 16 px (the message names it).
    """
    from toonlift.utils.image_reading import read_image_tensor

    return read_image_tensor(path, size)


def project_main(argv: list[str]) -> int:
    """Entry of ``toonlift project``."""
    from toonlift.plugins.losses.lpips import LPIPSLoss
    from toonlift.plugins.stylegan2.checkpoint import generator_from_checkpoint
    from toonlift.plugins.stylegan2.projector import project
    from toonlift.utils.images import save_image
    from toonlift.utils.io import save_safetensors

    args = _project_parser().parse_args(argv)
    # the optimisation takes minutes: find an unwritable output folder before it, not after
    check_writable_folder(args.output_dir, "output folder (--output_dir)")
    apply_threads(args.threads)
    G = generator_from_checkpoint(args.checkpoint, args.checkpoint_key).to(args.device).eval()
    target = load_image(args.image, G.size).to(args.device)
    lpips = LPIPSLoss(backbone_weights=args.lpips_weights, allow_random_backbone=args.allow_random_lpips)
    lpips = lpips.to(args.device)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    result = project(
        G,
        target,
        lpips,
        steps=args.steps,
        lr=args.lr,
        noise_regularize=args.noise_regularize,
        mse=args.mse,
        w_plus=args.w_plus,
        generator=gen,
    )
    out_dir = Path(args.output_dir)
    stem = Path(args.image).stem
    tensors = {"latent": result.latent[0], "ws": result.ws[0]}
    tensors.update({f"noise_{i}": n[0] for i, n in enumerate(result.noises)})
    final = result.history[-1]
    meta = {
        "format": "toonlift.stylegan2.projection",
        "checkpoint": str(args.checkpoint),
        "image": str(args.image),
        "steps": args.steps,
        "w_plus": args.w_plus,
        "final_lpips": final["lpips"],
        "random_lpips_backbone": lpips.random_backbone,
    }
    save_safetensors(out_dir / f"{stem}_latent.safetensors", tensors, meta)
    side = torch.cat([target[0].cpu(), result.image[0].clamp(-1, 1).cpu()], dim=2)  # [3, H, 2W]
    save_image(side, out_dir / f"{stem}_projection.png")
    print(
        f"final LPIPS {final['lpips']:.4f}; wrote {out_dir / (stem + '_latent.safetensors')} and the side-by-side PNG"
    )
    return 0
