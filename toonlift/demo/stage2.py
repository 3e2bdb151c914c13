"""Demo stage 2: expression directions by SeFa, refined by the identity-preserving offset search (Stage 2).

The expression direction is picked, not hand-chosen as in the paper: of the leading SeFa directions of the photo
generator, the one that moves the synthetic analyser's expression read-out most. The real
:class:`~toonlift.stages.offsets.module.OffsetModule` then optimises the offsets of a handful of latents (the
Stage-3 face first) and renders them through the photo and the shipped cartoon generator.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.datamodules.latents import LatentsDataModule
from toonlift.demo.assets import load_shipped
from toonlift.demo.context import DemoContext, StageTimer
from toonlift.demo.stage1 import fixed_latents
from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
from toonlift.plugins.parsers.synthetic_parser import SyntheticFaceParser
from toonlift.stages.offsets.directions import sefa_directions
from toonlift.stages.offsets.evaluation import analyser_readout, measure_edit, rank_directions_by_readout, summarise
from toonlift.stages.offsets.module import OffsetModule
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.utils.images import save_grid
from toonlift.utils.io import load_safetensors, save_safetensors

ALPHA = 3.0  # SeFa step: the demo generator's w is 128-d, so the paper's 5 (for 512-d) is scaled down


def run_stage2(ctx: DemoContext, timer: StageTimer, first_w: Tensor) -> dict:
    """Pick the direction, optimise the offsets of ``first_w [D]`` and ``stage2_latents - 1`` seeds; measure them."""
    sched, folder = ctx.schedule, ctx.folder("stage2")
    photo = load_shipped("photo").to(ctx.device)
    cartoon = load_shipped("cartoon").to(ctx.device)
    net, readout, names = analyser_readout()
    net.to(ctx.device)
    expr = slice(0, len(EXPRESSION_NAMES))

    directions = sefa_directions(photo)
    rank_ws = fixed_latents(photo, ctx.seed + 500, sched.ranking_latents).to(ctx.device)
    ranking = rank_directions_by_readout(photo, directions, readout, rank_ws, ALPHA, expr, sched.direction_candidates)
    index = ranking[0][0]

    ws = photo.broadcast_ws(first_w[None].to(ctx.device))  # [1, L, D]: the Stage-3 face
    if sched.stage2_latents > 1:
        ws = torch.cat([ws, fixed_latents(photo, ctx.seed + 1000, sched.stage2_latents - 1).to(ctx.device)])
    latents_file = folder / "face.safetensors"
    save_safetensors(latents_file, {"latents": ws.cpu()}, {"what": "demo Stage-2 latents (W+), the first is Stage 3's"})

    identity = SyntheticAnalyserIdentityEncoder()
    module = OffsetModule(
        generator=photo,
        identity_encoder=identity,
        low_level=identity,
        face_parser=SyntheticFaceParser(),
        cartoon_generators=[cartoon],
        cartoon_names=["cartoon"],
        swap_feature=None,
        direction_index=index,
        alpha=ALPHA,
        num_steps=10,
        lr=0.1,
        lambda_low=0.2,
        out_dir=str(folder),
    )
    trainer = ctx.trainer()
    trainer.fit(module, datamodule=LatentsDataModule([str(latents_file)], batch_size=len(ws)))

    # read the optimised offsets back from the files the module wrote, as a user of Stage 2 would
    rows = [load_safetensors(folder / f"face_{i:04d}.safetensors", "Stage-2 output")[0] for i in range(len(ws))]
    delta = torch.stack([r["offset"] for r in rows]).to(ctx.device)
    delta_init = torch.stack([r["offset_init"] for r in rows]).to(ctx.device)
    search = module.search
    table = {}
    for key, d in (("sefa", delta_init), ("optimised", delta)):
        table[key] = summarise(measure_edit(photo, ws, d, search, identity, readout), names)
    first = rows[0]
    ctx.shared["expressions"] = {"minus": first["ws_minus"][0], "plus": first["ws_plus"][0]}
    strip = expression_strip(photo, cartoon, ws[:1], delta[:1], search)
    strip_path = save_grid(strip, folder / "expressions.png", nrow=5)
    line = (
        f"SeFa direction {index} ({len(ws)} latents): expression change {_expr(table['sefa']):.3f} -> "
        f"{_expr(table['optimised']):.3f}, identity drift {table['sefa'].get('id_l2', 0):.3f} -> "
        f"{table['optimised'].get('id_l2', 0):.3f}"
    )
    seconds = timer.done(line)
    return {
        "direction_index": index,
        "direction_ranking": [{"index": k, "expression_change": v} for k, v in ranking],
        "alpha": ALPHA,
        "latents": len(ws),
        "sefa": table["sefa"],
        "optimised": table["optimised"],
        "measured_by": "synthetic analyser (the same network the search uses: identity figures flatter the search)",
        "seconds": seconds,
        "images": {"grid": ctx.rel(folder / "grid_0000.png"), "expressions": ctx.rel(strip_path)},
        "grid_columns": ctx.rel(folder / "grid_columns.json"),
    }


def _expr(summary: dict) -> float:
    """Summed mean change of the expression read-outs."""
    return sum(v for k, v in summary.items() if k.startswith("change_expr_"))


@torch.no_grad()
def expression_strip(photo: torch.nn.Module, cartoon: torch.nn.Module, ws: Tensor, delta: Tensor, search) -> Tensor:
    """Rows photo / cartoon, columns ``w - d, w - d/2, w, w + d/2, w + d``: ``[10, 3, H, W]``."""
    images = []
    for g in (photo, cartoon):
        for s in (-1.0, -0.5, 0.0, 0.5, 1.0):
            images.append(g.synthesis(search.edit(ws, delta, s), noise_mode="const").image[0])
    return torch.stack(images).clamp(-1, 1).cpu()
