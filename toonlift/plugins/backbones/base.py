"""The backbone interface: one shape for 2D style generators, 3D-aware generators and mesh face models.

The design card's three backbones fit the same two-step contract (what each one offers beyond it is a
capability, ``toonlift.plugins.backbones.capabilities``; docs/architecture.md has the table):

=====================  ===========================  ================================  ==========================
backbone               ``z`` (sampled code)         ``ws`` (latents fed to synthesis)  ``cond``
=====================  ===========================  ================================  ==========================
StyleGAN2 (2D)         ``[B, z_dim]`` Gaussian      W+ ``[B, num_ws, w_dim]``          unused
EG3D tri-plane (3D)    ``[B, z_dim]`` Gaussian      W+ ``[B, num_ws, w_dim]``          camera ``[B, 25]``
3DMM rig (mesh)        ``[B, z_dim]`` Gaussian      coefficients ``[B, 1, w_dim]``     pose / light
=====================  ===========================  ================================  ==========================

``mapping`` turns codes into latents, ``synthesis`` turns latents into a :class:`BackboneOutput` holding the image
and whatever else the backbone knows (depth, mask, mesh, intermediate features). Losses and callbacks read the
typed output and never branch on the backbone class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample


@dataclass
class BackboneOutput:
    """What a backbone's synthesis returns.

    Attributes:
        image: ``[B, 3, H, W]`` RGB in ``[-1, 1]``.
        ws: ``[B, num_ws, w_dim]`` the latents that produced it.
        depth: ``[B, 1, H, W]`` depth in the renderer's convention, if the backbone knows it.
        mask: ``[B, 1, H, W]`` foreground in ``[0, 1]``, if known.
        vertices: ``[B, V, 3]`` mesh vertices (mesh backbones).
        faces: ``[F, 3]`` int64 triangle indices shared by the batch (mesh backbones).
        features: named intermediate tensors requested with ``return_features`` (e.g. ``"block_8"``).
        image_raw: ``[B, 3, h, w]`` the low-resolution neural render of a 3D-aware generator (before
            super-resolution), in ``[-1, 1]``.
        cond: ``[B, cond_dim]`` the conditioning (camera) that was used, for camera-conditioned backbones.
        landmarks: ``[B, K, 2]`` projected landmarks in pixels (mesh backbones with landmark vertices).
        uv: ``[V, 2]`` texture coordinates in ``[0, 1]`` shared by the batch (mesh backbones).
        aux: anything else a backbone reports, by name (e.g. ``"weights_sum"`` of a volume render).
    """

    image: Tensor
    ws: Tensor | None = None
    depth: Tensor | None = None
    mask: Tensor | None = None
    vertices: Tensor | None = None
    faces: Tensor | None = None
    features: dict[str, Tensor] = field(default_factory=dict)
    image_raw: Tensor | None = None
    cond: Tensor | None = None
    landmarks: Tensor | None = None
    uv: Tensor | None = None
    aux: dict[str, Tensor] = field(default_factory=dict)


class Backbone(PluginExample, nn.Module, ABC):
    """Abstract generator backbone (entry-point group ``toonlift.backbones``).

    Subclasses set the size properties and implement :meth:`mapping` and :meth:`synthesis`.
    """

    @property
    @abstractmethod
    def resolution(self) -> int:
        """Output image side in pixels."""

    @property
    @abstractmethod
    def z_dim(self) -> int:
        """Size of the sampled code ``z``."""

    @property
    @abstractmethod
    def w_dim(self) -> int:
        """Size of one latent vector ``w``."""

    @property
    @abstractmethod
    def num_ws(self) -> int:
        """Number of latent vectors synthesis consumes (W+ length; 1 for a mesh rig)."""

    @property
    def cond_dim(self) -> int:
        """Size of the conditioning input (0 when the backbone takes none, 25 for an EG3D camera)."""
        return 0

    @classmethod
    def from_arch(cls, arch: dict[str, Any]) -> Backbone:
        """A randomly initialised backbone of the architecture ``arch`` (the sidecar of an export)."""
        return cls(**arch)

    def export_state(self) -> dict[str, Tensor]:
        """The tensors an export stores (default: the state dict)."""
        return dict(self.state_dict())

    def load_export_state(self, tensors: dict[str, Tensor], source: str) -> None:
        """Fill the model from an export's tensors, strictly, with one message naming ``source`` on a mismatch."""
        from toonlift.plugins.export import load_state_checked  # the export module imports this one

        load_state_checked(self, dict(tensors), source)

    def sample_z(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """``n`` standard-normal codes ``[n, z_dim]`` (on the backbone's device unless ``device`` is given)."""
        if device is None:
            device = next(self.parameters()).device if any(True for _ in self.parameters()) else "cpu"
        return torch.randn(n, self.z_dim, generator=generator, device=device)

    @torch.no_grad()
    def mean_latent(
        self, n: int = 4096, generator: torch.Generator | None = None, cond: Tensor | None = None
    ) -> Tensor:
        """Average ``w`` of ``n`` random codes, ``[1, w_dim]`` (the truncation centre).

        Args:
            n: how many codes to average.
            generator: random stream of the codes (global RNG when ``None``).
            cond: ``[1, cond_dim]`` conditioning to map with (camera-conditioned backbones); ``None`` otherwise.
        """
        z = self.sample_z(n, generator=generator)
        c = None if cond is None else cond.to(z).expand(n, -1)
        return self.mapping(z, c)[:, 0].mean(0, keepdim=True)

    @abstractmethod
    def mapping(
        self,
        z: Tensor,
        cond: Tensor | None = None,
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
    ) -> Tensor:
        """Map codes ``[B, z_dim]`` to latents ``[B, num_ws, w_dim]``, optionally truncated toward a mean latent."""

    @abstractmethod
    def synthesis(
        self,
        ws: Tensor,
        cond: Tensor | None = None,
        noise_mode: str = "const",
        return_features: tuple[str, ...] = (),
    ) -> BackboneOutput:
        """Render latents ``[B, num_ws, w_dim]`` (a single ``[B, w_dim]`` is broadcast).

        Args:
            ws: latents.
            cond: conditioning (camera, pose) when the backbone uses it.
            noise_mode: ``"const"`` (the stored noise buffers), ``"random"`` or ``"none"``.
            return_features: names of intermediate tensors to put in ``BackboneOutput.features``.
        """

    def forward(
        self,
        z: Tensor,
        cond: Tensor | None = None,
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
        noise_mode: str = "const",
        return_features: tuple[str, ...] = (),
        **synthesis_kwargs: Any,
    ) -> BackboneOutput:
        """``synthesis(mapping(z, cond), cond)``: codes ``[B, z_dim]`` to a :class:`BackboneOutput`; further keywords
        (a backbone's own synthesis options, e.g. ``noise``, ``swap_features``) go to :meth:`synthesis`."""
        ws = self.mapping(z, cond, truncation=truncation, truncation_latent=truncation_latent)
        return self.synthesis(ws, cond, noise_mode=noise_mode, return_features=return_features, **synthesis_kwargs)

    def broadcast_ws(self, ws: Tensor) -> Tensor:
        """Return W+ ``[B, num_ws, w_dim]`` from a single ``[B, w_dim]`` latent or W+ itself."""
        if ws.dim() == 2:
            return ws.unsqueeze(1).expand(-1, self.num_ws, -1)
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"expected latents [B, {self.w_dim}] or [B, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}"
            )
        return ws
