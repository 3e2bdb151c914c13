"""Does Stage 2 keep the person? SeFa alone versus the optimised offsets, measured over many latents.

For every latent ``w`` of a generator, the SeFa edit ``w ± α·n*`` and the optimised edit ``w ± w*`` are rendered and
measured with networks that are *not* the one the search optimised:

* **read-out change**: ``r(G(w + d)) − r(G(w − d))`` per read-out dimension (mean absolute value over latents), e.g.
  the expression, pose and light dimensions of the synthetic world's analyser: the edit should move the
  expression and leave pose and light (the analyser does not read hair colour);
* **identity drift**: the mean over ± of the distance between the measuring identity network's embeddings of
  ``G(w ± d)`` and ``G(w)`` (L2 and 1 − cosine);
* the offset norm and the search's own ``L_id`` / ``L_low``.

The paper shows the claim only in pictures; this prints a table (markdown) and writes the raw numbers as JSON.

    python benchmarks/eval_offsets.py --generator outputs/synthetic_photo/g_ema.safetensors --latents 256 \
        --search-encoder synthetic_analyser --parser synthetic_parser \
        --measure-encoder synthetic_analyser --analyser default

    python benchmarks/eval_offsets.py --quick   # shipped 64-px photo generator, 4 latents, 2 steps: runs end to end

An accuracy evaluation, not a speed benchmark: its elapsed time is one run, printed with the machine line of
``benchmarks/protocol.py`` (threads stated) for scale.

Plugins are registry names (``toonlift plugins`` lists them); ``--*-args`` take their constructor arguments as JSON.
A generator is a toonlift ``.safetensors`` export (architecture in its sidecar) or a rosinality ``.pt`` (pass
``--size``/``--channel-multiplier``/``--channel-max``/``--style-dim``/``--n-mlp`` when they differ from FFHQ-256).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from protocol import report_header
from torch import Tensor

from toonlift.registry import REGISTRIES
from toonlift.stages.offsets.directions import initial_offsets, load_directions, pick_direction, sefa_directions
from toonlift.stages.offsets.evaluation import analyser_readout, measure_edit, summarise
from toonlift.stages.offsets.offset_optimizer import OffsetOptimizer
from toonlift.utils.threads import apply_threads


def load_any_generator(args: argparse.Namespace):
    from toonlift.plugins.stylegan2 import StyleGAN2Backbone, load_generator

    if args.generator.endswith(".safetensors"):
        return load_generator(args.generator)
    return StyleGAN2Backbone(
        size=args.size,
        style_dim=args.style_dim,
        n_mlp=args.n_mlp,
        channel_multiplier=args.channel_multiplier,
        channel_max=args.channel_max,
        checkpoint=args.generator,
    )


def build(kind: str, name: str | None, args_json: str):
    if not name:
        return None
    return REGISTRIES[kind].build(name, **json.loads(args_json or "{}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default=None, help="required unless --quick")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--style-dim", type=int, default=512)
    ap.add_argument("--n-mlp", type=int, default=8)
    ap.add_argument("--channel-multiplier", type=int, default=2)
    ap.add_argument("--channel-max", type=int, default=512)
    ap.add_argument("--latents", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--truncation", type=float, default=0.7)
    ap.add_argument("--direction-index", type=int, default=0)
    ap.add_argument(
        "--pick-direction",
        type=int,
        default=0,
        help="rank the first N SeFa directions by the analyser's expression change (16 other latents, seeds "
        "100000+) and use the best, as the demo does (needs --analyser)",
    )
    ap.add_argument("--directions-file", default=None)
    ap.add_argument("--alpha", type=float, default=5.0)
    ap.add_argument("--objective", default="paper")
    ap.add_argument("--lambda-low", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--search-encoder", default=None, help="identity encoder optimised (registry name; required)")
    ap.add_argument("--search-encoder-args", default="{}")
    ap.add_argument("--parser", default=None, help="face parser for L_low (registry name)")
    ap.add_argument("--parser-args", default="{}")
    ap.add_argument(
        "--measure-encoder", nargs="+", default=[], help="identity encoders that measure the drift (registry names)"
    )
    ap.add_argument("--measure-encoder-args", default="{}", help="JSON arguments of the first measuring encoder")
    ap.add_argument("--keep", default=None, help="read-out the edit must keep (feature extractor, beyond the paper)")
    ap.add_argument("--lambda-keep", type=float, default=0.0, help="weight of the keep term (0: the paper)")
    ap.add_argument(
        "--sefa-alphas",
        type=float,
        nargs="*",
        default=[],
        help="also measure SeFa alone at these alphas (to compare the optimised edit at equal expression change)",
    )
    ap.add_argument("--readout", default=None, help="feature extractor whose dimensions are read (registry name)")
    ap.add_argument("--readout-args", default="{}")
    ap.add_argument("--readout-names", default="", help="comma-separated names of the read-out dimensions")
    ap.add_argument(
        "--analyser",
        default=None,
        help="synthetic-world analyser weights ('default' = the shipped file) as the read-out: expression, pose, light",
    )
    ap.add_argument("--out", default="outputs/eval_offsets.json")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument(
        "--quick", action="store_true", help="shipped photo generator, synthetic analyser/parser, 4 latents, 2 steps"
    )
    args = ap.parse_args()
    if args.quick:
        from toonlift.demo.assets import shipped_path

        args.generator = args.generator or str(shipped_path("photo"))
        args.search_encoder = args.search_encoder or "synthetic_analyser"
        args.measure_encoder = args.measure_encoder or "synthetic_analyser"
        args.latents, args.batch, args.steps = 4, 2, 2
    if not args.generator or not args.search_encoder:
        ap.error("--generator and --search-encoder are required (or --quick)")
    apply_threads(args.threads)
    machine = report_header(torch.device(args.device))
    print(machine)

    device = torch.device(args.device)
    g = load_any_generator(args).to(device).eval()
    f = build("identity_encoders", args.search_encoder, args.search_encoder_args).to(device)
    parser = build("face_parsers", args.parser, args.parser_args)
    encoders = [
        build("identity_encoders", name, args.measure_encoder_args if i == 0 else "{}").to(device).eval()
        for i, name in enumerate(args.measure_encoder)
    ]
    keep = build("feature_extractors", args.keep, "{}")
    readout = build("feature_extractors", args.readout, args.readout_args)
    parser, readout, keep = (m.to(device).eval() if m is not None else None for m in (parser, readout, keep))
    names = [s for s in args.readout_names.split(",") if s]
    if args.analyser:
        net, readout, names = analyser_readout(args.analyser)
        net.to(device)
    search = OffsetOptimizer(
        g, f, face_parser=parser, num_steps=args.steps, objective=args.objective, lambda_low=args.lambda_low,
        keep=keep, lambda_keep=args.lambda_keep,
    )  # fmt: skip
    directions = load_directions(args.directions_file) if args.directions_file else sefa_directions(g)
    if args.pick_direction:
        if not args.analyser:
            raise SystemExit("--pick-direction needs --analyser (the read-out that ranks the directions)")
        from toonlift.stages.offsets.evaluation import rank_directions_by_readout

        zr = torch.stack([torch.randn(g.z_dim, generator=torch.Generator().manual_seed(100000 + i)) for i in range(16)])
        with torch.no_grad():
            wr = g.mapping(zr.to(device))
        ranking = rank_directions_by_readout(g, directions, readout, wr, args.alpha, slice(0, 12), args.pick_direction)
        args.direction_index = ranking[0][0]
        print("direction ranking (index, summed expression change):", [(k, round(v, 3)) for k, v in ranking])
    n = pick_direction(directions, args.direction_index).to(device)
    centre = g.mean_latent(4096, generator=torch.Generator().manual_seed(0)) if args.truncation < 1 else None

    edits = ["sefa", "optimised"] + [f"sefa alpha {a:g}" for a in args.sefa_alphas]
    rows: dict[str, dict[str, list[Tensor]]] = {k: {} for k in edits}
    losses: dict[str, list[Tensor]] = {}
    t0 = time.perf_counter()
    for start in range(0, args.latents, args.batch):
        seeds = range(args.first_seed + start, args.first_seed + min(start + args.batch, args.latents))
        z = torch.stack([torch.randn(g.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]).to(device)
        with torch.no_grad():
            ws = g.mapping(z, truncation=args.truncation, truncation_latent=centre)
        result = search.run(ws, initial_offsets(n, args.alpha, len(seeds)))
        deltas = [result.offset_init, result.offset] + [initial_offsets(n, a, len(seeds)) for a in args.sefa_alphas]
        for key, delta in zip(edits, deltas):
            for i, encoder in enumerate(encoders or [None]):
                measured = measure_edit(g, ws, delta, search, encoder, readout if i == 0 else None)
                tag = f" [{args.measure_encoder[i]}]" if encoders else ""
                for name, value in measured.items():
                    label = f"{name}{tag}" if name.startswith("id_") else name
                    rows[key].setdefault(label, []).append(value.cpu())
        for phase, values in (("init", result.losses_init), ("final", result.losses_final)):
            for name, value in values.items():
                losses.setdefault(f"{name}_{phase}", []).append(value.cpu())
        print(f"{start + len(seeds)}/{args.latents} latents, {time.perf_counter() - t0:.0f} s", flush=True)

    table = {k: {name: torch.cat(v) for name, v in m.items()} for k, m in rows.items()}
    summary: dict[str, dict[str, float]] = {key: summarise(metrics, names) for key, metrics in table.items()}
    summary["search_losses"] = {k: float(torch.cat(v).mean()) for k, v in losses.items()}
    meta = {
        "generator": args.generator,
        "latents": args.latents,
        "direction_index": args.direction_index,
        "alpha": args.alpha,
        "objective": args.objective,
        "lambda_low": args.lambda_low,
        "search_encoder": args.search_encoder,
        "measure_encoder": args.measure_encoder,
        "keep": args.keep,
        "lambda_keep": args.lambda_keep,
        "readout": args.readout,
        "machine": machine,
        "seconds": time.perf_counter() - t0,  # one run, not a benchmark figure
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "summary": summary}, indent=2))
    metrics = sorted(set(summary["sefa"]) | set(summary["optimised"]))
    print(f"\n{args.latents} latents, direction {args.direction_index}, alpha {args.alpha}, {args.objective}, "
          f"lambda_keep {args.lambda_keep} ({args.keep})")  # fmt: skip
    print("| metric | " + " | ".join(edits) + " |")
    print("|---" * (len(edits) + 1) + "|")
    for m in metrics:
        print(f"| {m} | " + " | ".join(f"{summary[k].get(m, float('nan')):.4f}" for k in edits) + " |")
    print(json.dumps(summary["search_losses"], indent=1))


if __name__ == "__main__":
    main()
