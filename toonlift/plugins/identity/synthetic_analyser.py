"""Identity encoder of the synthetic world: the face analyser's identity read-out (registry ``synthetic_analyser``)."""

from __future__ import annotations

from torch import Tensor

from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.synthetic.analyser import FaceAnalyser


class SyntheticAnalyserIdentityEncoder(IdentityEncoder):
    """Identity embedding = the analyser's predicted identity coefficients (17 named shape factors).

    Distances between embeddings are distances in the head model's identity space, so Stage 2's ``L_id`` measures
    identity drift in known units on the synthetic world. ``low_level`` returns the analyser's 16x16 feature maps
    and :meth:`expression` its expression read-out (blendshape weights) for Stage-2 evaluation.

    Args:
        weights: analyser safetensors file (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``).
        frozen: freeze the weights (the encoder is a fixed measuring device; gradients still reach the image).
    """

    def __init__(self, weights: str | None = None, frozen: bool = True) -> None:
        super().__init__()
        self.analyser = FaceAnalyser.load(weights)
        if frozen:
            self.analyser.requires_grad_(False)

    def train(self, mode: bool = True) -> SyntheticAnalyserIdentityEncoder:
        # BatchNorm statistics are part of the measuring device: keep eval mode whatever the parent does.
        super().train(mode)
        self.analyser.eval()
        return self

    @property
    def embedding_dim(self) -> int:
        return self.analyser.num_identity

    def forward(self, image: Tensor) -> Tensor:
        """Identity coefficients ``[B, 17]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
        return self.analyser(image).identity

    def low_level(self, image: Tensor) -> Tensor:
        """Low-level feature maps ``[B, 64, 16, 16]``."""
        return self.analyser(image).low

    def expression(self, image: Tensor) -> Tensor:
        """Predicted expression blendshape weights ``[B, 12]`` (names: ``EXPRESSION_NAMES``)."""
        return self.analyser(image).expression
