"""The per-image VLDA model: five networks and the forward passes of GAN2Shape's three steps.

``VLDANets`` holds the networks; the functions below compute predictions and losses from them, given a depth-map
renderer (``toonlift.plugins.renderers.depth_map``), so the LightningModule only schedules and steps optimisers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from toonlift.functional.image_losses import masked_l1
from toonlift.stages.vlda.depth_anchor import bound_depth
from toonlift.stages.vlda.networks import EDDeconv, Encoder, ResEncoder
from toonlift.stages.vlda.vlda_params import (
    Light,
    decode_light,
    decode_view,
    diffuse_term,
    rescale_depth,
    shade,
    shaded_texture,
)


class VLDANets(nn.Module):
    """Depth D, albedo A, viewpoint V, lighting L and offset encoder E of one avatar.

    Args:
        image_size: side of the images (power of two).
        style_dim: output size of E (the StyleGAN2 mapping width).
        zdim: bottleneck of D and A (256 in GAN2Shape).
        nf: base width of D, A, V, L (``None``: ``max(4096 // image_size, 16)``).
        enc_nf: base width of E (32 in GAN2Shape).
    """

    def __init__(
        self, image_size: int, style_dim: int = 512, zdim: int = 256, nf: int | None = None, enc_nf: int = 32
    ) -> None:
        super().__init__()
        self.netD = EDDeconv(3, 1, image_size, zdim, nf, activation="none")
        self.netA = EDDeconv(3, 3, image_size, zdim, nf, activation="tanh")
        self.netV = Encoder(3, 6, image_size, nf)
        self.netL = Encoder(3, 4, image_size, nf)
        self.netE = ResEncoder(3, style_dim, image_size, enc_nf)
        # optional fixed head-pose estimate added to V's decoded view (``view_prior``); a plain callable, never a
        # submodule, so parameters, state dicts and checkpoints are those of the paper's networks
        self.view_prior: Callable[[Tensor], Tensor] | None = None
        # optional anchor depth [1, H, W] and bound (``training.depth_bound``; depth_anchor.py): plain attributes,
        # set by the module after the init phase, so the networks' state dict stays the paper's
        self.depth_anchor: Tensor | None = None
        self.depth_bound: float = 0.0
        self.depth_smooth: int = 0

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        """Parameters trained in ``phase`` (``init``: D; ``step1``: A; ``step2``: E; ``step3``: D, A, V, L)."""
        return [p for name in PHASE_NETS[phase] for p in getattr(self, name).parameters()]

    def set_trainable(self, phase: str) -> None:
        """Enable gradients only for the networks trained in ``phase`` (none for other phases)."""
        for name, net in self.named_children():
            net.requires_grad_(name in PHASE_NETS.get(phase, ()))


PHASE_NETS = {"init": ("netD",), "step1": ("netA",), "step2": ("netE",), "step3": ("netD", "netA", "netV", "netL")}


@dataclass
class Ranges:
    """Depth range and view scaling (GAN2Shape ``celeba.yml``).

    Attributes:
        min_depth: 0.9.
        max_depth: 1.1.
        rotation_deg: view rotation range, 60.
        xy_translation: view translation range, 0.1.
        z_translation: 0.
        border: clamped border columns, 2.
    """

    min_depth: float = 0.9
    max_depth: float = 1.1
    rotation_deg: float = 60.0
    xy_translation: float = 0.1
    z_translation: float = 0.0
    border: int = 2


@dataclass
class Canonical:
    """Canonical prediction for one image (batch 1): depth ``[1, H, W]``, albedo ``[1, 3, H, W]``, view ``[1, 6]``
    (camera units), light, normals ``[1, H, W, 3]``, diffuse term and shading ``[1, 1, H, W]``, texture
    ``[1, 3, H, W]``."""

    depth: Tensor
    albedo: Tensor
    view: Tensor
    light: Light
    normal: Tensor
    diffuse: Tensor
    shading: Tensor
    texture: Tensor


def predict_view(nets: VLDANets, images: Tensor, ranges: Ranges) -> Tensor:
    """Views ``[B, 6]`` of ``images`` ``[B, 3, S, S]``: V's decoded output, plus ``nets.view_prior`` if set."""
    view = decode_view(nets.netV(images), ranges.rotation_deg, ranges.xy_translation, ranges.z_translation)
    return view if nets.view_prior is None else view + nets.view_prior(images)


def predict_canonical(nets: VLDANets, image: Tensor, renderer: nn.Module, ranges: Ranges) -> Canonical:
    """Run D, A, V, L on ``image`` ``[1, 3, S, S]`` and shade the canonical texture."""
    depth = rescale_depth(nets.netD(image), ranges.min_depth, ranges.max_depth, ranges.border)
    if nets.depth_anchor is not None:
        depth = bound_depth(depth, nets.depth_anchor, nets.depth_bound, nets.depth_smooth)
    albedo = nets.netA(image)
    view = predict_view(nets, image, ranges)
    light = decode_light(nets.netL(image))
    normal = renderer.normals(depth)
    texture, shading = shade(albedo, normal, light)
    return Canonical(depth, albedo, view, light, normal, diffuse_term(normal, light.direction), shading, texture)


def render_view(renderer: nn.Module, texture: Tensor, depth: Tensor, view: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Warp a canonical texture ``[B|1, C, H, W]`` with depth ``[B|1, H, W]`` to views ``[B, 6]``.

    Returns:
        ``(image [B, C, H, W] clamped to [-1, 1], valid mask [B, 1, H, W], recon_depth [B, H, W])``.
    """
    b = view.shape[0]
    depth = depth.expand(b, -1, -1)
    texture = texture.expand(b, -1, -1, -1)
    recon_depth = renderer.warp_canon_depth(depth, view)
    grid = renderer.inverse_warp_grid(recon_depth, view)
    image = nn.functional.grid_sample(texture, grid, mode="bilinear", align_corners=True).clamp(-1, 1)
    return image, renderer.valid_mask(recon_depth), recon_depth


def photometric_terms(
    recon: Tensor, target: Tensor, mask: Tensor, perceptual: nn.Module | None
) -> tuple[Tensor, Tensor]:
    """``(masked L1, perceptual distance of masked images)``; the perceptual term is 0 without a plugin."""
    l1 = masked_l1(recon, target, mask)
    if perceptual is None or not getattr(perceptual, "enabled", True):
        return l1, l1.new_zeros(())
    return l1, perceptual(recon * mask, target * mask)


def mirrored(canon: Canonical, renderer: nn.Module) -> Canonical:
    """The horizontally flipped canonical shape (depth and albedo mirrored, normals and shading recomputed) under
    the same view and light: Unsup3d's symmetry assumption."""
    depth, albedo = canon.depth.flip(-1), canon.albedo.flip(-1)
    normal = renderer.normals(depth)
    texture, shading = shade(albedo, normal, canon.light)
    return Canonical(
        depth, albedo, canon.view, canon.light, normal, diffuse_term(normal, canon.light.direction), shading, texture
    )


def _weighted(perceptual: nn.Module | None, l1: Tensor, perc: Tensor) -> Tensor:
    return l1 + (perceptual.weight * perc if perceptual is not None else 0.0)


def reconstruction_loss(
    canon: Canonical,
    image: Tensor,
    renderer: nn.Module,
    perceptual: nn.Module | None,
    smoothness: nn.Module | None,
    flip: bool = False,
) -> tuple[Tensor, dict[str, Tensor], Tensor, Tensor]:
    """GAN2Shape ``forward_step1``: re-render the input from its predicted view.

    Returns:
        ``(loss, terms, recon [1, 3, H, W], recon_depth [1, H, W])`` with
        ``loss = L1 + w_perc * perceptual + w_smooth * (smooth(depth) + smooth(diffuse))``; with ``flip`` the
        mirrored shape must explain the input too (``+ L1_flip + w_perc * perceptual_flip``, masks shared).
    """
    recon, mask, recon_depth = render_view(renderer, canon.texture, canon.depth, canon.view)
    if flip:
        flipped = mirrored(canon, renderer)
        recon_f, mask_f, _ = render_view(renderer, flipped.texture, flipped.depth, canon.view)
        mask = mask * mask_f
    l1, perc = photometric_terms(recon, image, mask, perceptual)
    loss = _weighted(perceptual, l1, perc)
    terms = {"l1": l1, "perceptual": perc}
    if flip:
        l1_f, perc_f = photometric_terms(recon_f, image, mask, perceptual)
        loss = loss + _weighted(perceptual, l1_f, perc_f)
        terms.update(l1_flip=l1_f, perceptual_flip=perc_f)
    if smoothness is not None and smoothness.enabled:
        smooth = smoothness(canon.depth.unsqueeze(1)) + smoothness(canon.diffuse)
        loss = loss + smoothness.weight * smooth
        terms["smooth"] = smooth
    return loss, terms, recon, recon_depth


def projected_loss(
    nets: VLDANets,
    canon: Canonical,
    proj: Tensor,
    proj_mask: Tensor,
    renderer: nn.Module,
    perceptual: nn.Module | None,
    ranges: Ranges,
    flip: bool = False,
) -> tuple[Tensor, dict[str, Tensor]]:
    """GAN2Shape ``forward_step3`` on a batch of projected samples ``[B, 3, H, W]`` (masks ``[B, 1, H, W]``).

    V and L predict each sample's view and light; the input's canonical depth, albedo and normals are shared (and,
    with ``flip``, their mirror image must explain the sample too).
    """
    view = predict_view(nets, proj, ranges)
    light = decode_light(nets.netL(proj))
    b = proj.shape[0]
    shapes = [canon, mirrored(canon, renderer)] if flip else [canon]
    # the shape and its mirror image are independent renders of the same views: one batch of len(shapes) * b
    textures = [shade(c.albedo.expand(b, -1, -1, -1), c.normal.expand(b, -1, -1, -1), light)[0] for c in shapes]
    depths = torch.cat([c.depth.expand(b, -1, -1) for c in shapes])
    recon_all, valid_all, _ = render_view(renderer, torch.cat(textures), depths, view.repeat(len(shapes), 1))
    renders = list(recon_all.split(b))
    mask = proj_mask
    for valid in valid_all.split(b):
        mask = mask * valid
    l1, perc = photometric_terms(renders[0], proj, mask, perceptual)
    loss = _weighted(perceptual, l1, perc)
    terms = {"proj_l1": l1, "proj_perceptual": perc}
    if flip:
        l1_f, perc_f = photometric_terms(renders[1], proj, mask, perceptual)
        loss = loss + _weighted(perceptual, l1_f, perc_f)
        terms.update(proj_l1_flip=l1_f, proj_perceptual_flip=perc_f)
    return loss, terms


@torch.no_grad()
def pseudo_samples(
    canon: Canonical,
    renderer: nn.Module,
    views: Tensor,
    directions: Tensor,
    strengths: Tensor,
    ambient_shift: float = -0.6,
) -> tuple[Tensor, Tensor]:
    """Render the current canonical shape under random views ``[B, 6]`` and lights (GAN2Shape
    ``sample_pseudo_imgs``): ``(images [B, 3, H, W], masks [B, 1, H, W])``.

    The shading is ``a + ambient_shift r + (b + r) max(0, n . l)`` with the input's own ``a``, ``b``.
    """
    b = views.shape[0]
    cos = diffuse_term(canon.normal.expand(b, -1, -1, -1), directions)
    r = strengths.view(-1, 1, 1, 1)
    a, bd = canon.light.ambient.view(-1, 1, 1, 1), canon.light.diffuse.view(-1, 1, 1, 1)
    shading = a + ambient_shift * r + (bd + r) * cos
    texture = shaded_texture(canon.albedo, shading)
    # render_view's steps, with the reference's all-ones mask warped by the same grid as a fourth channel (samples
    # that fall outside the canonical image are masked out too): one warp grid and one grid_sample, the same values
    recon_depth = renderer.warp_canon_depth(canon.depth.expand(b, -1, -1), views)
    grid = renderer.inverse_warp_grid(recon_depth, views)
    planes = torch.cat([texture, torch.ones_like(texture[:, :1])], dim=1)  # [B, 4, H, W]
    warped = nn.functional.grid_sample(planes, grid, mode="bilinear", align_corners=True)
    image, inside = warped[:, :3].clamp(-1, 1), warped[:, 3:]
    return image, renderer.valid_mask(recon_depth) * inside
