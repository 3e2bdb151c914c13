"""Official EG3D network pickles (NVlabs/eg3d) to toonlift exports (``.safetensors`` + JSON sidecar).

NVlabs' pickles hold whole Python objects: unpickling one imports their ``training`` and ``torch_utils`` packages and
runs code from the file, so :func:`convert_eg3d_pickle` refuses unless the caller passes ``trust_pickle=True``, and
needs a checkout of NVlabs/eg3d (its ``eg3d/`` folder) on ``sys.path`` (``eg3d_repo``). The key mapping itself
(:func:`generator_state_from_eg3d`, :func:`discriminator_state_from_eg3d`) works on plain state dicts and is what
the equality tests use.

Name mapping (EG3D -> toonlift): ``backbone.mapping.{embed,fcN,w_avg}`` -> ``mapping_net.{embed,fcs.N,w_avg}``;
``backbone.synthesis.b4.const`` -> ``planes.input.input``; ``bR.conv0/conv1/torgb`` -> ``planes.convs[2k]/[2k+1]``,
``planes.to_rgbs[k]`` (``k = log2 R - 3``), each ``affine`` -> ``conv.modulation``, ``weight`` -> ``conv.weight[None]``,
``noise_strength`` -> ``noise.weight``, ``noise_const`` -> ``planes.noises.noise_i``, ``bias`` -> ``activate.bias``;
``decoder.net.{0,2}`` -> ``decoder.fc{0,1}``; ``superresolution.blockJ`` -> ``superres.blocks.J``.
"""

from __future__ import annotations

import math
import pickle
import sys
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from toonlift.errors import CheckpointError, ConfigError

SR_CLASSES = {
    "SuperresolutionHybrid2X": "hybrid2x",
    "SuperresolutionHybrid4X": "hybrid4x",
    "SuperresolutionHybrid8X": "hybrid8x",
    "SuperresolutionHybrid8XDC": "hybrid8xdc",
}
TRUST_MESSAGE = (
    "An EG3D network pickle is a Python program: loading it imports NVlabs' code and runs whatever the file contains. "
    "Convert only files you trust (e.g. downloaded from NVIDIA's NGC catalogue), by passing trust_pickle=True "
    "(`toonlift convert-eg3d --trust_pickle true`); the safetensors file it writes can then be loaded safely."
)


def _styled(dst: dict[str, Tensor], src: dict[str, Tensor], s: str, d: str, noise_key: str | None) -> None:
    """One StyleGAN2-ADA ``SynthesisLayer`` ``s`` to a rosinality ``StyledConv`` ``d``."""
    dst[f"{d}.conv.weight"] = src[f"{s}.weight"].unsqueeze(0)
    dst[f"{d}.conv.modulation.weight"] = src[f"{s}.affine.weight"]
    dst[f"{d}.conv.modulation.bias"] = src[f"{s}.affine.bias"]
    dst[f"{d}.activate.bias"] = src[f"{s}.bias"]
    dst[f"{d}.noise.weight"] = src[f"{s}.noise_strength"].reshape(1)
    if noise_key is not None:
        dst[noise_key] = src[f"{s}.noise_const"].reshape(1, 1, *src[f"{s}.noise_const"].shape)


def _torgb(dst: dict[str, Tensor], src: dict[str, Tensor], s: str, d: str) -> None:
    dst[f"{d}.conv.weight"] = src[f"{s}.weight"].unsqueeze(0)
    dst[f"{d}.conv.modulation.weight"] = src[f"{s}.affine.weight"]
    dst[f"{d}.conv.modulation.bias"] = src[f"{s}.affine.bias"]
    dst[f"{d}.bias"] = src[f"{s}.bias"].reshape(1, -1, 1, 1)


def _linear(dst: dict[str, Tensor], src: dict[str, Tensor], s: str, d: str) -> None:
    dst[f"{d}.weight"] = src[f"{s}.weight"]
    dst[f"{d}.bias"] = src[f"{s}.bias"]


def generator_state_from_eg3d(
    src: dict[str, Tensor], plane_resolution: int, mapping_layers: int, sr_blocks: int
) -> dict[str, Tensor]:
    """toonlift ``EG3DBackbone`` tensors (no resampling-filter buffers) from a ``TriPlaneGenerator`` state dict."""
    dst: dict[str, Tensor] = {}
    _linear(dst, src, "backbone.mapping.embed", "mapping_net.embed")
    for i in range(mapping_layers):
        _linear(dst, src, f"backbone.mapping.fc{i}", f"mapping_net.fcs.{i}")
    dst["mapping_net.w_avg"] = src["backbone.mapping.w_avg"]
    syn = "backbone.synthesis"
    dst["planes.input.input"] = src[f"{syn}.b4.const"].unsqueeze(0)
    _styled(dst, src, f"{syn}.b4.conv1", "planes.conv1", "planes.noises.noise_0")
    _torgb(dst, src, f"{syn}.b4.torgb", "planes.to_rgb1")
    for k in range(int(math.log2(plane_resolution)) - 2):
        b = f"{syn}.b{2 ** (k + 3)}"
        _styled(dst, src, f"{b}.conv0", f"planes.convs.{2 * k}", f"planes.noises.noise_{2 * k + 1}")
        _styled(dst, src, f"{b}.conv1", f"planes.convs.{2 * k + 1}", f"planes.noises.noise_{2 * k + 2}")
        _torgb(dst, src, f"{b}.torgb", f"planes.to_rgbs.{k}")
    _linear(dst, src, "decoder.net.0", "decoder.fc0")
    _linear(dst, src, "decoder.net.2", "decoder.fc1")
    for j in range(sr_blocks):
        s, d = f"superresolution.block{j}", f"superres.blocks.{j}"
        _styled(dst, src, f"{s}.conv0", f"{d}.conv0", f"{d}.noise_0")
        _styled(dst, src, f"{s}.conv1", f"{d}.conv1", f"{d}.noise_1")
        _torgb(dst, src, f"{s}.torgb", f"{d}.torgb")
    return dst


def fill_model(model: nn.Module, tensors: dict[str, Tensor], source: str) -> None:
    """Copy mapped tensors into ``model``; every parameter and noise buffer must be given (filters are constants)."""
    own = model.state_dict()
    needed = [k for k in own if not k.endswith(("blur.kernel", "upsample.kernel", "up.kernel", "resample_kernel"))]
    missing = [k for k in needed if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    shapes = [
        f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}"
        for k, v in tensors.items()
        if k in own and v.shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        raise CheckpointError(
            f"{source} does not fit {type(model).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"shape mismatches {shapes[:5]}. The pickle is of an EG3D variant this converter does not know."
        )
    model.load_state_dict({**own, **{k: v.to(own[k].dtype) for k, v in tensors.items()}}, strict=True)


def generator_arch_from_eg3d(G: Any) -> dict[str, Any]:  # noqa: N803 - NVlabs name
    """``EG3DBackbone`` arguments of an unpickled NVlabs ``TriPlaneGenerator``."""
    rk = dict(G.rendering_kwargs)
    init = dict(getattr(G, "init_kwargs", {}) or {})
    syn = dict(init.get("synthesis_kwargs", init))
    sr_name = SR_CLASSES.get(type(G.superresolution).__name__)
    if sr_name is None:
        raise CheckpointError(
            f"The pickle's super-resolution module {type(G.superresolution).__name__} is not one of EG3D's official "
            f"ones ({', '.join(SR_CLASSES)}); this converter does not know its layout."
        )
    if rk.get("ray_start") == "auto":
        raise CheckpointError("The pickle renders with automatic ray bounds ('auto'), which toonlift does not support.")
    clamp = getattr(G.superresolution.block0.conv1, "conv_clamp", None)
    pivot = rk.get("avg_camera_pivot", [0.0, 0.0, 0.0])
    return {
        "z_dim": int(G.z_dim), "w_dim": int(G.w_dim), "mapping_layers": int(G.backbone.mapping.num_layers),
        "pose_conditioning": not rk.get("c_gen_conditioning_zero", False), "c_scale": float(rk.get("c_scale", 1.0)),
        "plane_resolution": int(G.backbone.img_resolution), "plane_channels": int(G.backbone.img_channels) // 3,
        "channel_base": int(syn.get("channel_base", 32768)), "channel_max": int(syn.get("channel_max", 512)),
        "decoder_hidden": int(G.decoder.hidden_dim), "decoder_lr_mul": float(rk.get("decoder_lr_mul", 1.0)),
        "neural_resolution": int(G.neural_rendering_resolution), "sr": sr_name,
        "sr_conv_clamp": None if clamp is None else float(clamp), "sr_antialias": bool(rk.get("sr_antialias", True)),
        "sr_noise_mode": str(rk.get("superresolution_noise_mode", "none")),
        "ray_start": float(rk["ray_start"]), "ray_end": float(rk["ray_end"]), "box_warp": float(rk["box_warp"]),
        "depth_samples": int(rk["depth_resolution"]), "importance_samples": int(rk["depth_resolution_importance"]),
        "white_back": bool(rk.get("white_back", False)), "camera_radius": float(rk.get("avg_camera_radius", 2.7)),
        "camera_orbit_center": [0.0, 0.0, 0.0], "camera_look_at": [float(x) for x in pivot],
    }  # fmt: skip


def load_eg3d_pickle(path: str | Path, trust_pickle: bool = False, eg3d_repo: str | Path | None = None) -> dict:
    """Unpickle an official network pickle (``{"G", "D", "G_ema", ...}``) with NVlabs' code importable."""
    from toonlift.utils.io import require_file

    if not trust_pickle:
        raise ConfigError(TRUST_MESSAGE)
    p = require_file(
        path, "The EG3D network pickle", "Download it from NVIDIA's NGC catalogue (see NVlabs/eg3d's README)."
    )
    added = None
    if eg3d_repo is not None:
        root = Path(eg3d_repo)
        root = root / "eg3d" if (root / "eg3d" / "training").is_dir() else root
        if not (root / "training" / "triplane.py").is_file():
            raise ConfigError(
                f"eg3d_repo '{eg3d_repo}' is not a checkout of NVlabs/eg3d: '{root}/training/triplane.py' is missing. "
                "Give the folder of a clone of https://github.com/NVlabs/eg3d."
            )
        added = str(root)
        sys.path.insert(0, added)
    try:
        with p.open("rb") as f:
            return pickle.load(f)  # noqa: S301 - refused above unless the caller trusts the file
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"Unpickling '{p}' needs NVlabs' EG3D code ({err.name} is not importable). Pass eg3d_repo (`--eg3d_repo`) "
            "pointing at a clone of https://github.com/NVlabs/eg3d."
        ) from err
    finally:
        if added is not None and added in sys.path:
            sys.path.remove(added)


def convert_eg3d_pickle(
    path: str | Path,
    out: str | Path,
    trust_pickle: bool = False,
    eg3d_repo: str | Path | None = None,
    key: str = "G_ema",
) -> Path:
    """Convert network ``key`` (``G_ema``, ``G`` or ``D``) of an official EG3D pickle to a toonlift export.

    Args:
        path: the ``.pkl`` file.
        out: destination ``.safetensors`` (its ``.json`` sidecar is written beside it).
        trust_pickle: must be ``True``: unpickling runs code from the file.
        eg3d_repo: a clone of NVlabs/eg3d whose code the pickle needs (``None``: already importable).
        key: which network of the pickle.
    """
    from toonlift.plugins.eg3d.backbone import EG3DBackbone
    from toonlift.plugins.export import save_model

    data = load_eg3d_pickle(path, trust_pickle, eg3d_repo)
    if not isinstance(data, dict) or key not in data:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"'{path}' holds no network '{key}' (found {found}); choose --key G_ema, G or D.")
    net = data[key]
    src = {k: v.detach().float().cpu() for k, v in net.state_dict().items()}
    provenance = {"converted_from": str(path), "key": key}
    if key == "D":
        from toonlift.plugins.eg3d.discriminator import EG3DDualDiscriminator, discriminator_arch_from_eg3d

        arch = discriminator_arch_from_eg3d(net)
        model = EG3DDualDiscriminator(**arch)
        fill_model(model, discriminator_state_from_eg3d(src, arch), f"The network '{key}' of '{path}'")
    else:
        arch = generator_arch_from_eg3d(net)
        model = EG3DBackbone(**arch)
        state = generator_state_from_eg3d(
            src, arch["plane_resolution"], arch["mapping_layers"], len(model.superres.blocks)
        )
        fill_model(model, state, f"The network '{key}' of '{path}'")
    return save_model(model, out, provenance=provenance)


def discriminator_state_from_eg3d(src: dict[str, Tensor], arch: dict[str, Any]) -> dict[str, Tensor]:
    """toonlift ``EG3DDualDiscriminator`` tensors from a ``DualDiscriminator`` state dict."""
    dst: dict[str, Tensor] = {}
    res = arch["resolution"]
    for i, r in enumerate(2**k for k in range(int(math.log2(res)), 2, -1)):
        b, d = f"b{r}", f"blocks.{i}"
        if i == 0:
            _linear(dst, src, f"{b}.fromrgb", "fromrgb")
        for name in ("conv0", "conv1"):
            _linear(dst, src, f"{b}.{name}", f"{d}.{name}")
        dst[f"{d}.skip.weight"] = src[f"{b}.skip.weight"]
    for name in ("conv", "fc", "out"):
        _linear(dst, src, f"b4.{name}", f"epilogue.{name}")
    _linear(dst, src, "mapping.embed", "mapping.embed")
    for i in range(arch["mapping_layers"]):
        _linear(dst, src, f"mapping.fc{i}", f"mapping.fcs.{i}")
    return dst
