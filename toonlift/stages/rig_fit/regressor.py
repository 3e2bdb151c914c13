"""The coarse-reconstruction CNN: a face image to a ``head_rig`` latent ``[B, 53]``.

Two trunks:

* ``"scratch"``: a small encoder (four stride-2 stages, GroupNorm, SiLU), global average pooling, one zero-initialised
  linear head, so an untrained regressor predicts the average face.
* ``"analyser"``: the convolutional stages and hidden layer of the shipped synthetic face analyser
  (``toonlift/assets/synthetic_analyser.safetensors``, trained on the world's photos), the role ImageNet-trained
  ResNet-50 plays for seed 002 and Deep3DFaceRecon. The last linear layer starts from the analyser's own read-outs:
  its identity and pose outputs are copied into the latent's identity and pose slots (converted to prior units),
  the rest start at zero; its BatchNorm statistics stay frozen. (From scratch, 600 CPU steps learnt pose but not
  identity or expression.)

The head's output is read in prior units, ``latent = prior_mean + prior_std * raw``, for every group; expression
weights are clamped to ``[0, 1]`` in evaluation only. (A sigmoid on the expression weights, as before, starts every
weight at 0.5 while the world's are sparse; its gradient vanishes as it learns the zeros, which kept the expression
R^2 below zero.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.head_rig.latent import LATENT_DIM, SLICES
from toonlift.plugins.head_rig.prior import prior_moments
from toonlift.utils.io import load_safetensors, safe_torch_load

TRUNKS = ("scratch", "analyser")


def mixed_prior_moments(domains: Sequence[str]) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation ``[53]`` of the world's latent prior pooled over ``domains`` (equal shares)."""
    stats = [prior_moments(d) for d in domains]
    mean = torch.stack([m for m, _ in stats]).mean(0)
    # pooled variance = mean within-domain variance + variance of the domain means
    var = torch.stack([s.pow(2) for _, s in stats]).mean(0) + torch.stack([m for m, _ in stats]).var(0, False)
    return mean, var.sqrt()


def _scratch_trunk(width: int) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = []
    ch = 3
    for k in range(4):
        out = width * 2**k
        layers += [
            nn.Conv2d(ch, out, 3, 2, 1),
            nn.GroupNorm(min(8, out), out),
            nn.SiLU(),
            nn.Conv2d(out, out, 3, 1, 1),
            nn.GroupNorm(min(8, out), out),
            nn.SiLU(),
        ]
        ch = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), ch


def _analyser_layers(width: int, analyser: nn.Module | None = None) -> tuple[nn.Module, nn.Linear]:
    """The analyser trunk (its stages and hidden layer; fresh ones when ``analyser`` is None) and a new head."""
    from toonlift.synthetic.analyser import FaceAnalyser

    an = analyser if analyser is not None else FaceAnalyser(width)
    trunk = nn.Sequential(
        an.stem, an.stage2, an.stage3, an.stage4, nn.AdaptiveAvgPool2d(1), nn.Flatten(), an.head[0], an.head[1]
    )
    return trunk, nn.Linear(8 * width, LATENT_DIM)


class CoarseRegressor(nn.Module):
    """Image ``[B, 3, S, S]`` in ``[-1, 1]`` -> rig latent ``[B, 53]``.

    Args:
        width: channels of the first stage (doubled per stage, four stages); the analyser trunk takes its width
            from the shipped weights.
        prior_domain: the world domain(s) whose prior mean and spread scale the outputs (a comma-separated list
            pools them).
        trunk: ``"scratch"`` or ``"analyser"`` (initialised from the shipped analyser; its weights must exist).
        pretrained: with the analyser trunk, start from the analyser's weights (False: fresh layers of its
            architecture, for loading a trained regressor).
    """

    def __init__(
        self, width: int = 32, prior_domain: str = "photo", trunk: str = "scratch", pretrained: bool = True
    ) -> None:
        super().__init__()
        if width < 4:
            raise ConfigError(f"CoarseRegressor width must be >= 4, got {width}.")
        if trunk not in TRUNKS:
            raise ConfigError(f"CoarseRegressor trunk must be one of {', '.join(TRUNKS)}, got {trunk!r}.")
        self.trunk_name = trunk
        mean, std = mixed_prior_moments([d.strip() for d in prior_domain.split(",")])
        self.register_buffer("prior_mean", mean.clone())
        self.register_buffer("prior_std", std.clone())
        if trunk == "scratch":
            self.features, ch = _scratch_trunk(width)
            self.head = nn.Linear(ch, LATENT_DIM)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)  # start at the prior mean
        elif pretrained:
            self._from_analyser()
        else:  # the analyser trunk's layers only (weights loaded afterwards)
            self.features, self.head = _analyser_layers(width)

    def _from_analyser(self) -> None:
        from toonlift.synthetic.analyser import FaceAnalyser

        an = FaceAnalyser.load()
        self.features, self.head = _analyser_layers(an.width, an)
        last: nn.Linear = an.head[2]  # [K + E + 7, 8w]: identity, expression, pose (x pose_scale), light
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        k, e = an.num_identity, an.num_expression
        ident, pose = SLICES["identity"], SLICES["pose"]
        with torch.no_grad():
            # identity: analyser value a -> prior units (a - mean) / std
            s_id = self.prior_std[ident][:, None]
            self.head.weight[ident] = last.weight[:k] / s_id
            self.head.bias[ident] = (last.bias[:k] - self.prior_mean[ident]) / s_id[:, 0]
            # pose (yaw, pitch, roll): analyser raw x pose_scale degrees -> prior units
            p = slice(pose.start, pose.start + 3)
            scale = (an.pose_scale / self.prior_std[p])[:, None]
            self.head.weight[p] = last.weight[k + e : k + e + 3] * scale
            self.head.bias[p] = last.bias[k + e : k + e + 3] * scale[:, 0] - self.prior_mean[p] / self.prior_std[p]

    def train(self, mode: bool = True) -> CoarseRegressor:
        """Set training mode, keeping the analyser trunk's BatchNorm statistics frozen (its running averages from
        the analyser's training; batches of 16 mixed-domain faces would make noisy ones)."""
        super().train(mode)
        if self.trunk_name == "analyser":
            for m in self.features.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, image: Tensor) -> Tensor:
        if self.trunk_name == "analyser" and image.shape[-1] != 64:
            image = nn.functional.interpolate(image, size=(64, 64), mode="bilinear", antialias=True)
        raw = self.head(self.features(image))  # [B, 53]
        latent = self.prior_mean + self.prior_std * raw
        if not self.training:
            e = SLICES["expression"]
            latent = torch.cat([latent[:, : e.start], latent[:, e].clamp(0, 1), latent[:, e.stop :]], 1)
        return latent


DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "assets" / "rig_coarse_regressor.safetensors"


def load_coarse_regressor(path: str | Path | None = None) -> CoarseRegressor:
    """The trained regressor in eval mode: from ``path`` (an exported ``*.safetensors`` with its JSON sidecar, or a
    ``RigFitModule`` Lightning checkpoint ``*.ckpt``), default the shipped
    ``toonlift/assets/rig_coarse_regressor.safetensors``."""
    p = Path(path) if path is not None else DEFAULT_WEIGHTS
    if p.suffix == ".ckpt":
        ckpt = safe_torch_load(p, what="rig_fit checkpoint")
        h = ckpt.get("hyper_parameters", {})
        arch = {
            "width": h.get("width", 32),
            "prior_domain": h.get("domain", "photo"),
            "trunk": h.get("trunk", "scratch"),
        }
        state = {k[len("regressor.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("regressor.")}
    else:
        state, meta = load_safetensors(p, what="coarse-regressor weights")
        if "arch" not in meta:
            raise CheckpointError(
                f"'{p}' has no 'arch' entry in its sidecar, so it is not a coarse-regressor export. Export one by "
                "fitting RigFitModule with export_path set (configs/rig_fit_mixed.yaml)."
            )
        arch = meta["arch"]
    trunk = str(arch.get("trunk", "scratch"))
    width = int(state["head.weight"].shape[1]) // 8 if trunk == "analyser" else int(arch["width"])
    net = CoarseRegressor(width, str(arch.get("prior_domain", "photo")), trunk, pretrained=False)
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"The coarse-regressor weights '{p}' do not fit the architecture: {err}") from err
    return net.eval()
