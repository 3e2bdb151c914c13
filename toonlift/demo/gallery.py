"""``index.html``: the demo's gallery, one self-contained page with relative links (opens offline in a browser)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from toonlift.utils.io import atomic_write_text

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}section{margin:2em 0}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd;background:#fff}
figure{display:inline-block;margin:.5em;vertical-align:top;text-align:center}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}code{background:#f4f4f4;padding:0 .2em}
"""


def _fig(src: str | None, caption: str, width: int | None = None) -> str:
    if not src:
        return ""
    size = f' width="{width}"' if width else ""
    return (
        f'<figure><a href="{html.escape(src)}"><img src="{html.escape(src)}"{size} alt="{html.escape(caption)}"></a>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_gallery(summary: dict) -> str:
    """The HTML of the gallery for a ``summary.json`` dictionary."""
    s1, s2, s3, ev = (summary.get(k, {}) for k in ("stage1", "stage2", "stage3", "evaluation"))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>toonlift demo</title><style>{_STYLE}</style>",
        "</head><body><h1>toonlift demo</h1>",
        f"<p class='sub'>seed {summary.get('seed')}, {'quick' if summary.get('quick') else 'default'} schedule, "
        f"{html.escape(str(summary.get('device')))}, {summary.get('total_seconds', 0):.0f} s in all &middot; "
        "<a href='summary.json'>summary.json</a> &middot; every file and figure is explained in"
        " <code>docs/demo.md</code> of the toonlift repository</p>",
        "<section><h2>1 &middot; Stage 1: photo generator &rarr; cartoon generator</h2>",
        "<p>Rows: " + html.escape(" / ".join(s1.get("grid_rows", []))) + ".</p>",
        _fig(s1.get("images", {}).get("transformation"), "fixed latents through each generator", 640),
        _fig(s1.get("images", {}).get("finetune_gif"), "this run's fine-tuning, frame by frame", 640),
        "</section><section><h2>2 &middot; Stage 2: expression offsets</h2>",
        f"<p>Direction: {html.escape(str(s2.get('direction', '')))}; "
        f"offsets optimised for {s2.get('latents')} latents. Columns of the grid: "
        f"<a href='{html.escape(str(s2.get('grid_columns', '')))}'>grid_columns.json</a>.</p>",
        _fig(
            s2.get("images", {}).get("expressions"),
            "the Stage-3 face, w - d ... w + d: photo with the direction alone, photo optimised, cartoon optimised",
            420,
        ),
        _fig(s2.get("images", {}).get("grid"), "all latents", 900),
        "</section><section><h2>3 &middot; Stage 3: the 3D avatar</h2>",
    ]
    img3 = s3.get("images", {})
    for key, caption in (
        ("input", "input (cartoon generator)"),
        ("reconstruction", "reconstruction"),
        ("depth", "depth"),
        ("normal", "normals"),
        ("albedo", "albedo"),
        ("rotation_gif", "rotation"),
        ("expression_minus_input", "expression - (input)"),
        ("expression_minus_gif", "expression - (rotation)"),
        ("expression_plus_input", "expression + (input)"),
        ("expression_plus_gif", "expression + (rotation)"),
    ):
        parts.append(_fig(img3.get(key), caption, 160))
    strip = "input, reconstruction, depth, normals, albedo; then each expression"
    parts.append("<br>" + _fig(img3.get("strip"), strip, 480))
    parts.append("<br>" + _fig(img3.get("rotation_grid"), "yaw -60..60, pitch -20/0/20", 640))
    parts.append(_fig(img3.get("relight_grid"), "relighting", 420))
    meshes = [(k, v) for k, v in img3.items() if "mesh" in k]
    parts.append("<p>Meshes: " + ", ".join(f"<a href='{html.escape(v)}'>{html.escape(k)}</a>" for k, v in meshes))
    parts.append("</p></section><section><h2>4 &middot; Evaluation</h2>")
    rows = [
        (k, *(v.get(m, float("nan")) for m in ("fid", "kid_x1e3", "samples"))) for k, v in ev.get("fid", {}).items()
    ]
    parts.append(
        "<h3>FID / KID (synthetic analyser features)</h3><p>Distance between the generator's samples and fresh renders"
        " of its domain (seed 90000), in the synthetic analyser's feature space: <b>lower is better</b>, 0 means the"
        " same distribution. They rank generators against each other; they are not Inception FIDs.</p>"
        + _table(rows, ("generator", "FID", "KID x1e3", "n"))
    )
    expr_rows = []
    for key in sorted(set(s2.get("direction_alone", {})) | set(s2.get("optimised", {}))):
        expr_rows.append(
            (key, s2.get("direction_alone", {}).get(key, float("nan")), s2.get("optimised", {}).get(key, float("nan")))
        )
    parts.append(
        "<h3>Expression vs identity (Stage 2)</h3><p>Between <code>G(w - d)</code> and <code>G(w + d)</code>:"
        " <code>change_*</code> is how far the analyser's read-outs move (expression weights 0-1, angles in degrees,"
        " light): a <b>large</b> expression change and a <b>small</b> pose and light change are the aim;"
        " <code>id_*</code> is the identity drift to <code>G(w)</code> (L2 or 1 - cosine of identity embeddings):"
        f" <b>lower is better</b>. Identity network in the loss: {html.escape(str(s2.get('identity_in_loss', '?')))};"
        f" judges: {html.escape(str(s2.get('measured_by', '?')))}. Over 256 latents: BENCHMARKS.md, Stage 2.</p>"
        + _table(expr_rows, ("metric", "direction alone", "optimised"))
    )
    depth_rows = [
        (name, 100 * s3.get(name, {}).get("side", float("nan")), s3.get(name, {}).get("mad", float("nan")))
        for name in ("flat", "prior", "stage1", "final")
        if name in s3
    ]
    parts.append(
        "<h3>Depth against the synthetic ground truth (Stage 3)</h3><p>SIDE (scale-invariant depth error, x1e-2)"
        " and MAD (mean angle between the normals, degrees) of each shape against the synthetic cartoon rendering of"
        " the face's true parameters: <b>lower is better</b>. <code>flat</code> is a plane (no shape at all): a"
        f" reconstruction is 3D only where it beats it. Prior: {html.escape(str(s3.get('prior_kind', 'ellipsoid')))}."
        "</p>"
    )
    parts.append(_table(depth_rows, ("shape", "SIDE x1e-2", "MAD (deg)")))
    parts.append(f"<pre>{html.escape(json.dumps(summary.get('timings', {}), indent=1))}</pre>")
    parts.append("</section></body></html>")
    return "\n".join(p for p in parts if p)


def write_gallery(summary: dict, out: Path) -> Path:
    """Write ``out/index.html`` atomically."""
    path = Path(out) / "index.html"
    atomic_write_text(path, render_gallery(summary))
    return path
