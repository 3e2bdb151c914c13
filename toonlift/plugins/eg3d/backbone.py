"""The EG3D tri-plane generator as a toonlift backbone (registry name ``eg3d``), pure PyTorch, CPU or GPU.

``mapping``: ``(z, camera) -> w`` (:mod:`.mapping`), broadcast to ``num_ws`` latents. ``synthesis``: latents ->
tri-planes (:mod:`.planes`) -> rays from the camera (:mod:`.rays`) -> two-pass volume rendering of the decoded
planes (:mod:`.renderer`) -> the neural render's feature image -> super-resolution with the last latent
(:mod:`.superres`). The output carries the image, the raw neural render (``image_raw``), its depth and mask (summed
weights), both at the neural resolution, and the camera.

Rendering randomness (stratified jitter, random importance samples) follows the noise: ``noise_mode="random"``
without explicit ``noise`` maps jitters as EG3D's training does; everything else renders deterministically, so the
same latents, camera and noise give the same image. ``jitter=`` overrides this.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import Backbone, BackboneOutput
from toonlift.plugins.backbones.capabilities import select_noise
from toonlift.plugins.eg3d.camera import COND_DIM, FFHQ_FOCAL, degrees, orbit_cond, sample_orbit_angles
from toonlift.plugins.eg3d.decoder import TriplaneDecoder
from toonlift.plugins.eg3d.mapping import CameraMapping
from toonlift.plugins.eg3d.planes import PlaneSynthesis, noise_resolutions
from toonlift.plugins.eg3d.rays import camera_rays
from toonlift.plugins.eg3d.renderer import RenderOptions, render_rays
from toonlift.plugins.eg3d.shape_prior import EllipsoidPrior
from toonlift.plugins.eg3d.superres import SR_PRESETS, SuperResolution, sr_output_resolution

FEATURES = ("planes", "feature_image")

# Architectures by name: EG3D's official FFHQ 512 generator and toonlift's small CPU model (64 px, 32^2 rays) for
# the synthetic world (head frame of toonlift.plugins.eg3d.world_camera: camera 1 unit from the pivot, the world's
# 10 degree lens at 64 px, its yaw/pitch ranges; rays 0.85-1.15 cover the visible depths 0.9-1.1, box 0.3 the head).
PRESETS: dict[str, dict[str, Any]] = {
    "ffhq512": {"neural_resolution": 128, "sr": "hybrid8xdc"},
    "lite64": {
        "z_dim": 128, "w_dim": 128, "plane_resolution": 64, "plane_channels": 16, "channel_base": 4096,
        "channel_max": 128, "neural_resolution": 32, "sr": "lite2x", "depth_samples": 24, "importance_samples": 24,
        "ray_start": 0.85, "ray_end": 1.15, "box_warp": 0.3, "camera_radius": 1.0, "camera_orbit_center": [0, 0, 0],
        "camera_look_at": [0, 0, 0], "camera_focal": 5.6257, "yaw_range_deg": 45.0, "pitch_range_deg": 20.0,
        # the world's mean head, slightly enlarged (docs/eg3d.md, "Density prior"; beyond EG3D)
        "density_prior": {"centre": [0.0, 0.005, 0.0], "radii": [0.066, 0.09, 0.08], "strength": 100.0, "width": 0.25},
    },
}  # fmt: skip


class EG3DBackbone(Backbone):
    """EG3D tri-plane generator; the defaults are the official FFHQ 512 architecture (``ffhq512-128``).

    Args:
        z_dim: latent code size.
        w_dim: latent size (also the camera embedding).
        mapping_layers: mapping depth (EG3D's ``--map-depth 2``).
        pose_conditioning: feed the camera to the mapping (EG3D's ``--gen_pose_cond``); otherwise zeros.
        c_scale: multiplier of the camera before the mapping (EG3D's ``--c-scale``).
        plane_resolution: tri-plane side (EG3D: 256).
        plane_channels: channels of each plane ``C`` (EG3D: 32; also the decoder's feature outputs).
        channel_base: plane synthesis width budget ``min(channel_max, channel_base // res)``.
        channel_max: cap on the plane synthesis widths.
        decoder_hidden: hidden width of the decoder MLP (EG3D: 64).
        decoder_lr_mul: learning-rate multiplier of the decoder.
        neural_resolution: side of the volume render (EG3D: 64, faded to 128 in ``ffhq512-128``).
        sr: super-resolution preset (``hybrid2x``, ``hybrid4x``, ``hybrid8x``, ``hybrid8xdc``, ``lite2x``), used when
            ``sr_blocks`` is not given.
        sr_input_resolution: side the feature image is resized to before super-resolution.
        sr_blocks: ``[[width, upsample], ...]`` of the super-resolution blocks.
        sr_conv_clamp: clamp of the super-resolution convolutions (EG3D: 256); ``None`` for none.
        sr_antialias: antialiased resize before super-resolution.
        sr_noise_mode: ``"none"`` (EG3D's default) or ``"random"`` (then it follows the call's noise).
        ray_start: near depth of every ray.
        ray_end: far depth.
        box_warp: side of the cube spanned by the tri-planes.
        depth_samples: stratified samples per ray.
        importance_samples: importance samples per ray.
        white_back: composite on white.
        camera_radius: orbit radius of sampled cameras.
        camera_orbit_center: centre of the orbit.
        camera_look_at: point the cameras look at.
        camera_focal: normalised focal length.
        yaw_range_deg: sampled yaws are uniform in +-this.
        pitch_range_deg: sampled pitches are uniform in +-this.
        density_prior: an ellipsoid of density added to the decoder's (``{"centre": [x, y, z], "radii": [rx, ry,
            rz], "strength": s, "width": t}``, :class:`toonlift.plugins.eg3d.shape_prior.EllipsoidPrior`; beyond
            EG3D, which has none: ``None``).
        checkpoint: a toonlift export (``.safetensors`` + sidecar) of this architecture to load.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {
            "z_dim": 16, "w_dim": 16, "plane_resolution": 16, "plane_channels": 4, "channel_base": 128,
            "channel_max": 16, "decoder_hidden": 8, "neural_resolution": 8, "sr_input_resolution": 8,
            "sr_blocks": [[8, False], [8, True]], "depth_samples": 6, "importance_samples": 6,
        }  # fmt: skip

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        """``(z, cameras)`` for one ``forward`` call: codes ``[batch, z_dim]`` and sampled cameras ``[batch, 25]``."""
        gen = torch.Generator().manual_seed(0)
        return self.sample_z(batch, generator=gen), self.sample_cond(batch, generator=gen)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> EG3DBackbone:
        """A backbone of a named architecture (:data:`PRESETS`), with overrides."""
        if name not in PRESETS:
            raise ConfigError(f"Unknown EG3D preset {name!r}; choose one of {', '.join(PRESETS)}.")
        return cls(**{**copy.deepcopy(PRESETS[name]), **overrides})

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 2,
        pose_conditioning: bool = True,
        c_scale: float = 1.0,
        plane_resolution: int = 256,
        plane_channels: int = 32,
        channel_base: int = 32768,
        channel_max: int = 512,
        decoder_hidden: int = 64,
        decoder_lr_mul: float = 1.0,
        neural_resolution: int = 128,
        sr: str = "hybrid8xdc",
        sr_input_resolution: int | None = None,
        sr_blocks: list[list[Any]] | None = None,
        sr_conv_clamp: float | None = 256.0,
        sr_antialias: bool = True,
        sr_noise_mode: str = "none",
        ray_start: float = 2.25,
        ray_end: float = 3.3,
        box_warp: float = 1.0,
        depth_samples: int = 48,
        importance_samples: int = 48,
        white_back: bool = False,
        camera_radius: float = 2.7,
        camera_orbit_center: list[float] | tuple[float, ...] = (0.0, 0.0, 0.0),
        camera_look_at: list[float] | tuple[float, ...] = (0.0, 0.0, 0.2),
        camera_focal: float = FFHQ_FOCAL,
        yaw_range_deg: float = 30.0,
        pitch_range_deg: float = 15.0,
        density_prior: dict[str, Any] | None = None,
        checkpoint: str | None = None,
    ) -> None:
        super().__init__()
        bad = {k: v for k, v in {"z_dim": z_dim, "w_dim": w_dim, "mapping_layers": mapping_layers,
               "plane_channels": plane_channels, "neural_resolution": neural_resolution,
               "decoder_hidden": decoder_hidden}.items() if not isinstance(v, int) or v < 1}  # fmt: skip
        if bad:
            raise ConfigError(f"EG3D sizes must be positive integers, got {bad}.")
        if sr_noise_mode not in ("none", "random"):
            raise ConfigError(f"sr_noise_mode must be 'none' or 'random', got {sr_noise_mode!r}.")
        if sr_blocks is None:
            if sr not in SR_PRESETS:
                raise ConfigError(
                    f"Unknown EG3D super-resolution preset {sr!r}; choose one of {', '.join(SR_PRESETS)}."
                )
            preset_in, preset_blocks = SR_PRESETS[sr]
            sr_blocks = [list(b) for b in preset_blocks]
            sr_input_resolution = preset_in if sr_input_resolution is None else sr_input_resolution
        if sr_input_resolution is None:
            raise ConfigError("EG3D sr_blocks were given without sr_input_resolution; give both.")
        self._arch = {
            "z_dim": z_dim, "w_dim": w_dim, "mapping_layers": mapping_layers, "pose_conditioning": pose_conditioning,
            "c_scale": float(c_scale), "plane_resolution": plane_resolution, "plane_channels": plane_channels,
            "channel_base": channel_base, "channel_max": channel_max, "decoder_hidden": decoder_hidden,
            "decoder_lr_mul": float(decoder_lr_mul), "neural_resolution": neural_resolution,
            "sr_input_resolution": sr_input_resolution, "sr_blocks": [[int(w), bool(u)] for w, u in sr_blocks],
            "sr_conv_clamp": sr_conv_clamp, "sr_antialias": sr_antialias, "sr_noise_mode": sr_noise_mode,
            "ray_start": float(ray_start), "ray_end": float(ray_end), "box_warp": float(box_warp),
            "depth_samples": depth_samples, "importance_samples": importance_samples, "white_back": white_back,
            "camera_radius": float(camera_radius), "camera_orbit_center": [float(x) for x in camera_orbit_center],
            "camera_look_at": [float(x) for x in camera_look_at], "camera_focal": float(camera_focal),
            "yaw_range_deg": float(yaw_range_deg), "pitch_range_deg": float(pitch_range_deg),
        }  # fmt: skip
        prior = EllipsoidPrior.from_config(density_prior)
        if prior is not None:  # only when set, so exports made before the option still match their architecture
            self._arch["density_prior"] = prior.as_config()
        a = self._arch
        self.render_options = RenderOptions(ray_start, ray_end, box_warp, depth_samples, importance_samples, white_back)
        self.mapping_net = CameraMapping(z_dim, COND_DIM, w_dim, mapping_layers)
        self.planes = PlaneSynthesis(plane_resolution, plane_channels, w_dim, channel_base, channel_max)
        self.decoder = TriplaneDecoder(plane_channels, plane_channels, decoder_hidden, decoder_lr_mul, prior)
        self.superres = SuperResolution(
            plane_channels, sr_input_resolution, a["sr_blocks"], w_dim, sr_conv_clamp, sr_antialias
        )
        self._resolution = sr_output_resolution(sr_input_resolution, a["sr_blocks"])
        self.checkpoint = checkpoint
        if checkpoint is not None:
            self._load_checkpoint(checkpoint)

    def _load_checkpoint(self, path: str) -> None:
        from toonlift.plugins.export import read_export_meta

        tensors, meta, kind, name = read_export_meta(path)
        if kind != "backbones" or name != "eg3d":
            raise ConfigError(f"'{path}' holds the {kind[:-1]} '{name}', not an EG3D generator; give an eg3d export.")
        if meta["arch"] != self.arch_args():
            diff = sorted(k for k in set(meta["arch"]) | set(self._arch) if meta["arch"].get(k) != self._arch.get(k))
            raise ConfigError(
                f"'{path}' is an EG3D generator of another architecture (differs in {', '.join(diff)}). Build the "
                "backbone with the export's arguments, or load it with toonlift.plugins.export.load_model."
            )
        self.load_export_state(tensors, f"The export '{path}'")

    # ------------------------------------------------------------------ sizes
    @property
    def resolution(self) -> int:
        return self._resolution

    @property
    def z_dim(self) -> int:
        return self._arch["z_dim"]

    @property
    def w_dim(self) -> int:
        return self._arch["w_dim"]

    @property
    def num_ws(self) -> int:
        return self.planes.num_ws

    @property
    def cond_dim(self) -> int:
        return COND_DIM

    @property
    def neural_resolution(self) -> int:
        return self._arch["neural_resolution"]

    def modulation_weights(self, layers: Sequence[int] | str = "all", convention: str = "rosinality") -> list[Tensor]:
        """``StyleModulation`` for SeFa: the ``[C_l, w_dim]`` style affines of the tri-plane generator (a StyleGAN2
        synthesis network, in either convention of ``toonlift.functional.sefa``; ``layers`` are its W+ indices). The
        super-resolution's affines are left out: they refine the neural render, the planes hold the face."""
        from toonlift.plugins.stylegan2.modulation import modulation_weights

        return modulation_weights(self.planes, layers, convention)

    def arch_args(self) -> dict[str, Any]:
        """Constructor arguments that fix the architecture (the export sidecar's ``arch``)."""
        return copy.deepcopy(self._arch)

    # ------------------------------------------------------------------ cameras
    def _device(self) -> torch.device:
        return self.planes.input.input.device

    def sample_cond(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """``n`` orbit cameras ``[n, 25]`` with yaw and pitch uniform in the configured ranges."""
        device = self._device() if device is None else device
        yaw, pitch = sample_orbit_angles(
            n, degrees(self._arch["yaw_range_deg"]), degrees(self._arch["pitch_range_deg"]), generator, device
        )
        return self.orbit_cond(yaw, pitch)

    def default_cond(self, n: int, device: torch.device | str | None = None) -> Tensor:
        """``n`` frontal cameras ``[n, 25]`` (yaw 0, pitch 0)."""
        zero = torch.zeros(n, device=self._device() if device is None else device)
        return self.orbit_cond(zero, zero)

    def orbit_cond(self, yaw: Tensor, pitch: Tensor) -> Tensor:
        """Cameras ``[B, 25]`` at ``yaw``, ``pitch`` (radians) on this model's orbit."""
        a = self._arch
        return orbit_cond(
            yaw, pitch, a["camera_radius"], a["camera_orbit_center"], a["camera_look_at"], a["camera_focal"]
        )

    def _cond(self, cond: Tensor | None, batch: int, like: Tensor) -> Tensor:
        if cond is None:
            return self.default_cond(batch, like.device).to(like.dtype)
        if cond.dim() != 2 or cond.shape[1] != COND_DIM or cond.shape[0] not in (1, batch):
            raise ConfigError(
                f"The EG3D camera must be [B, 25] (cam2world 4x4 then normalised intrinsics) for a batch of {batch}, "
                f"got {tuple(cond.shape)}. Use backbone.sample_cond(n) or backbone.orbit_cond(yaw, pitch)."
            )
        return cond.to(like.dtype).expand(batch, -1)

    # ------------------------------------------------------------------ mapping
    def mapping(
        self,
        z: Tensor,
        cond: Tensor | None = None,
        truncation: float = 1.0,
        truncation_latent: Tensor | None = None,
        truncation_cutoff: int | None = None,
    ) -> Tensor:
        """``z [B, z_dim]`` and cameras ``[B, 25]`` (default: frontal) -> W+ ``[B, num_ws, w_dim]``.

        ``truncation < 1`` pulls the first ``truncation_cutoff`` latents (all when ``None``) toward
        ``truncation_latent`` (default: the tracked ``w_avg``), as EG3D.
        """
        c = self._cond(cond, z.shape[0], z)
        if not self._arch["pose_conditioning"]:
            c = torch.zeros_like(c)
        w = self.mapping_net(z, c * self._arch["c_scale"])
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation != 1.0:
            centre = (self.mapping_net.w_avg if truncation_latent is None else truncation_latent.reshape(-1)).to(ws)
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws = torch.cat([centre.lerp(ws[:, :cut], truncation), ws[:, cut:]], dim=1)
        return ws

    @torch.no_grad()
    def update_w_avg(self, w: Tensor, beta: float = 0.998) -> None:
        """EG3D's running mean of ``w`` (``w [B, w_dim]`` or W+): ``w_avg = lerp(mean(w), w_avg, beta)``."""
        w = w[:, 0] if w.dim() == 3 else w
        self.mapping_net.w_avg.copy_(w.detach().mean(0).lerp(self.mapping_net.w_avg, beta))

    # ------------------------------------------------------------------ noise
    def make_noise(
        self, batch: int = 1, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> list[Tensor]:
        """One standard-normal map ``[batch, 1, r, r]`` per tri-plane synthesis layer."""
        device = self._device() if device is None else device
        return [
            torch.randn(batch, 1, r, r, generator=generator, device=device)
            for r in noise_resolutions(self._arch["plane_resolution"])
        ]

    def _noise_list(self, batch: int, noise_mode: str, noise: list[Tensor] | None) -> list[Tensor | None]:
        fresh = lambda: self.make_noise(batch)  # noqa: E731
        return select_noise(noise, noise_mode, self.planes.num_noise, self.planes.stored_noise, fresh)

    # ------------------------------------------------------------------ synthesis
    def synthesize_planes(self, ws: Tensor, noise_mode: str = "const", noise: list[Tensor] | None = None) -> Tensor:
        """Tri-planes ``[B, 3, C, P, P]`` of latents (``[B, w_dim]`` or W+)."""
        ws = self.broadcast_ws(ws)
        return self.planes(ws, self._noise_list(ws.shape[0], noise_mode, noise))

    def synthesis(
        self,
        ws: Tensor,
        cond: Tensor | None = None,
        noise_mode: str = "const",
        return_features: tuple[str, ...] = (),
        noise: list[Tensor] | None = None,
        jitter: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> BackboneOutput:
        """Render latents (``[B, w_dim]`` or W+) from cameras ``cond [B, 25]`` (default: frontal).

        Args:
            ws: latents.
            cond: cameras.
            noise_mode: ``"const"``, ``"random"`` or ``"none"`` (tri-plane noise; ``"random"`` also jitters).
            return_features: any of ``"planes"`` (``[B, 3, C, P, P]``) and ``"feature_image"`` (``[B, C, R, R]``).
            noise: explicit tri-plane noise maps (:meth:`make_noise`); overrides ``noise_mode``.
            jitter: random depth samples (``None``: only for ``noise_mode="random"`` without ``noise``).
            generator: random stream of the jitter.
        """
        unknown = set(return_features) - set(FEATURES)
        if unknown:
            raise ConfigError(f"unknown EG3D feature(s) {sorted(unknown)}; available: {list(FEATURES)}.")
        ws = self.broadcast_ws(ws)
        b, r = ws.shape[0], self.neural_resolution
        cond = self._cond(cond, b, ws)
        random_noise = noise is None and noise_mode == "random"
        jitter = random_noise if jitter is None else jitter
        planes = self.synthesize_planes(ws, noise_mode, noise)
        origins, dirs = camera_rays(cond, r)
        feats, depth, weight_sum = render_rays(
            planes, self.decoder, origins, dirs, self.render_options, jitter, generator
        )
        feature_image = feats.permute(0, 2, 1).reshape(b, -1, r, r)
        rgb = feature_image[:, :3]
        sr_mode = "none" if self._arch["sr_noise_mode"] == "none" else ("random" if random_noise else "const")
        image = self.superres(rgb, feature_image, ws[:, -1], sr_mode)
        features = {"planes": planes, "feature_image": feature_image}
        return BackboneOutput(
            image=image,
            ws=ws,
            depth=depth.permute(0, 2, 1).reshape(b, 1, r, r),
            mask=weight_sum.permute(0, 2, 1).reshape(b, 1, r, r),
            image_raw=rgb,
            cond=cond,
            features={k: v for k, v in features.items() if k in return_features},
        )
