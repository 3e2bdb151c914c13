"""FID and KID (torchmetrics) over features from Inception-v3 (user-supplied weights) or any feature-extractor plugin.

Features are computed once per batch and fed to both metrics through an identity "extractor", so FID and KID share
one forward pass. The state is torchmetrics' own, so it is summed over DDP ranks at ``compute``.

Inception weights are never downloaded: pass the path of torch-fidelity's ``pt_inception-2015-12-05-6726825d.pth``
(see docs/data.md). The file is first opened with ``weights_only=True`` so a hostile pickle is rejected before
torch-fidelity (which loads it with ``weights_only=False``) sees it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from toonlift.errors import ConfigError
from toonlift.utils.io import require_file, safe_torch_load

INCEPTION_HOW_TO_GET = (
    "Download torch-fidelity's 'pt_inception-2015-12-05-6726825d.pth' (the FID Inception-v3, ~95 MB, from the "
    "toshas/torch-fidelity GitHub release v0.2.0) on a machine with network access, copy it here and pass its path "
    "as `inception_weights`; or set `feature_extractor` to a registered feature-extractor plugin. toonlift never "
    "downloads weights."
)


class _Precomputed(nn.Module):
    """Identity 'feature extractor': the metrics receive features already computed."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


class InceptionFeatures(nn.Module):
    """The FID Inception-v3 (torchmetrics/torch-fidelity port of the TF graph), 2048-d pool features.

    Args:
        weights: path to ``pt_inception-2015-12-05-6726825d.pth``.
    """

    def __init__(self, weights: str) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        path = require_file(weights, "The FID Inception-v3 weights file", INCEPTION_HOW_TO_GET)
        state = safe_torch_load(path, what="FID Inception-v3 weights file")
        if not isinstance(state, dict) or "Mixed_7c.branch_pool.conv.weight" not in state:
            raise ConfigError(
                f"'{path}' does not hold the FID Inception-v3 state dict (no 'Mixed_7c' keys). {INCEPTION_HOW_TO_GET}"
            )
        self.net = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(path)
        )
        self.num_features = 2048

    def forward(self, images: Tensor) -> Tensor:
        """Features ``[B, 2048]`` of images ``[B, 3, H, W]`` in ``[-1, 1]`` (quantised to uint8 as FID expects)."""
        x = images.detach().float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
        return self.net(x).reshape(x.shape[0], -1)


def build_feature_extractor(name: str, inception_weights: str | None = None) -> nn.Module:
    """``"inception"`` (needs ``inception_weights``) or the name of a registered feature-extractor plugin."""
    if name == "inception":
        if inception_weights is None:
            from toonlift.errors import WeightsNotFoundError

            raise WeightsNotFoundError(
                f"FID/KID with feature_extractor='inception' needs `inception_weights`. {INCEPTION_HOW_TO_GET}"
            )
        return InceptionFeatures(inception_weights)
    from toonlift.registry import FEATURE_EXTRACTORS

    return FEATURE_EXTRACTORS.get(name)()


class GenerativeMetrics(nn.Module):
    """FID + KID between real and generated images, with one feature pass per batch.

    Args:
        num_features: feature size of the extractor that produces the ``update`` inputs.
        kid_subset_size: KID subset size (capped at the number of samples at compute time).
        kid_subsets: number of KID subsets.
    """

    def __init__(self, num_features: int, kid_subset_size: int = 1000, kid_subsets: int = 100) -> None:
        super().__init__()
        self.fid = FrechetInceptionDistance(feature=_Precomputed(num_features), reset_real_features=True)
        self.kid = KernelInceptionDistance(
            feature=_Precomputed(num_features), subsets=kid_subsets, subset_size=kid_subset_size
        )
        self.kid_subset_size = kid_subset_size

    def reset(self) -> None:
        self.fid.reset()
        self.kid.reset()

    def update(self, features: Tensor, real: bool) -> None:
        """Add features ``[B, d]`` of real or generated images."""
        features = features.double()
        self.fid.update(features, real=real)
        self.kid.update(features, real=real)

    def compute(self) -> dict[str, Tensor]:
        """``{"fid", "kid_mean", "kid_std"}`` over all ranks (a collective call under DDP)."""
        fid = self.fid.compute()
        # KID needs subset_size <= samples; the KID state is a list of feature batches (gathered on sync)
        n_real = int(self.fid.real_features_num_samples)
        n_fake = int(self.fid.fake_features_num_samples)
        self.kid.subset_size = max(2, min(self.kid_subset_size, n_real, n_fake))
        kid_mean, kid_std = self.kid.compute()
        return {"fid": fid.float(), "kid_mean": kid_mean.float(), "kid_std": kid_std.float()}


def scores_x1e3(out: dict[str, Tensor]) -> dict[str, float]:
    """``GenerativeMetrics.compute`` output as plain numbers: ``{"fid", "kid_x1e3", "kid_std_x1e3"}`` (KID x1000)."""
    return {
        "fid": float(out["fid"]),
        "kid_x1e3": 1e3 * float(out["kid_mean"]),
        "kid_std_x1e3": 1e3 * float(out["kid_std"]),
    }
