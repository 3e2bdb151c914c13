"""LPIPS perceptual distance (Zhang et al. 2018) with backbone weights from a local file, never downloaded.

The ``lpips`` package ships only its small linear calibration heads; the ImageNet VGG16/AlexNet backbone under them
is torchvision's and is normally downloaded at run time. Here it is read from a file the user gives (or from the
torch hub cache if torchvision already put it there), so LPIPS works on offline machines and clusters.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import CheckpointError, ConfigError, WeightsNotFoundError
from toonlift.plugins.losses.base import Loss
from toonlift.utils.io import safe_torch_load

# torchvision's file names for the ImageNet weights LPIPS builds on, and the feature-layer split LPIPS uses:
# slice k holds torchvision ``features[i]`` for i in the range (LPIPS keeps the torchvision indices as names).
_TORCHVISION_FILES = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}
_SLICES = {
    "vgg": [range(0, 4), range(4, 9), range(9, 16), range(16, 23), range(23, 30)],
    "alex": [range(0, 2), range(2, 5), range(5, 8), range(8, 10), range(10, 12)],
}


def _hub_cache_file(net: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILES[net]


def backbone_state_from_torchvision(state: dict[str, Tensor], net: str) -> dict[str, Tensor]:
    """Rename a torchvision ``vgg16``/``alexnet`` state dict to the keys of ``lpips.LPIPS.net`` (``sliceK.i.*``)."""
    out = {}
    for k, indices in enumerate(_SLICES[net], start=1):
        for i in indices:
            for param in ("weight", "bias"):
                key = f"features.{i}.{param}"
                if key in state:
                    out[f"slice{k}.{i}.{param}"] = state[key]
    return out


class LPIPSLoss(Loss):
    """LPIPS distance between images in ``[-1, 1]``.

    Args:
        weight: multiplier of the loss term.
        net: backbone, ``"vgg"`` (used by the StyleGAN2 projector and GAN2Shape) or ``"alex"``.
        backbone_weights: path to torchvision's ImageNet weights for ``net`` (``vgg16-397923af.pth`` or
            ``alexnet-owt-7be5be79.pth``). If omitted, the torch hub cache (``$TORCH_HOME/hub/checkpoints``) is used
            when the file is there.
        allow_random_backbone: use a randomly initialised (fixed-seed) backbone when no weights are found. Only for
            tests and smoke runs: distances are then not LPIPS and not comparable to published figures.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"net": "alex", "allow_random_backbone": True}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        pred = (torch.rand(batch, 3, 32, 32, generator=gen) * 2 - 1).requires_grad_(True)
        return pred, torch.rand(batch, 3, 32, 32, generator=gen) * 2 - 1

    def __init__(
        self,
        weight: float = 1.0,
        net: str = "vgg",
        backbone_weights: str | None = None,
        allow_random_backbone: bool = False,
    ) -> None:
        super().__init__(weight)
        if net not in _TORCHVISION_FILES:
            raise ConfigError(f"LPIPSLoss: net must be one of {sorted(_TORCHVISION_FILES)}, got '{net}'.")
        import lpips

        path = Path(os.path.expanduser(backbone_weights)) if backbone_weights else _hub_cache_file(net)
        if not path.is_file() and (backbone_weights or not allow_random_backbone):
            raise WeightsNotFoundError(
                f"LPIPS needs torchvision's ImageNet {net} weights, not found at '{path}'. Get "
                f"'{_TORCHVISION_FILES[net]}' on a machine with network (it is what "
                f"`torchvision.models.{'vgg16' if net == 'vgg' else 'alexnet'}(weights='IMAGENET1K_V1')` downloads "
                "into ~/.cache/torch/hub/checkpoints/), copy it here and pass its path as backbone_weights "
                "(or put it in that cache folder)."
            )
        with warnings.catch_warnings():  # torchvision warns about the legacy `pretrained` argument lpips passes
            warnings.simplefilter("ignore")
            fork = torch.random.fork_rng(devices=[])
            with fork:
                torch.manual_seed(0)  # a fixed random backbone when no weights are given
                self.model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        self.random_backbone = not path.is_file()
        if not self.random_backbone:
            state = safe_torch_load(path, what=f"{net} backbone weights")
            mapped = backbone_state_from_torchvision(state, net)
            expected = set(self.model.net.state_dict())
            if set(mapped) != expected:
                raise CheckpointError(
                    f"'{path}' is not torchvision's {net} ImageNet state dict: {len(expected - set(mapped))} of the "
                    f"{len(expected)} expected feature weights are missing (e.g. "
                    f"{sorted(expected - set(mapped))[:3]})."
                )
            self.model.net.load_state_dict(mapped)
        self.model.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> LPIPSLoss:
        super().train(mode)
        self.model.eval()  # the backbone always stays in eval mode (it has no batch norm, but keep it explicit)
        return self

    def distance(self, pred: Tensor, target: Tensor) -> Tensor:
        """Per-sample LPIPS ``[B]`` between images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable)."""
        return self.model(pred, target, normalize=False).flatten()

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Mean LPIPS over the batch."""
        return self.distance(pred, target).mean()
