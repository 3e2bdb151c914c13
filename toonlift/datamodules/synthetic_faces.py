"""``SyntheticFacesDataModule``: the procedural face world as training, validation and test data.

Sample ``i`` of seed ``s`` is a pure function of ``(s, i)``, so only the order of the training stream has to be
reproducible for an exact resume. Two orders exist (``stream``):

* ``endless`` -- the order of the image-folder path (:class:`InfiniteShardedSampler`): stream position ``p`` is a
  pure function of ``(seed, p)``, rank-sharded, and restarts at the module's ``iteration * batch_size`` after
  ``--ckpt_path last``; a resumed Stage-1 run draws exactly the batches the uninterrupted run drew.
* ``epochs`` -- finite epochs whose order is a permutation seeded by ``(seed, epoch)`` (Lightning calls
  ``set_epoch``); a resume is exact at epoch boundaries, as for any epoch-based module.

``auto`` (the default) picks ``endless`` when the trained module keeps its own ``iteration`` counter (the GAN
modules of Stage 1) and ``epochs`` otherwise (the analyser).
"""

from __future__ import annotations

from torch.utils.data import DataLoader, DistributedSampler

from toonlift.datamodules.base import ToonDataModule
from toonlift.datamodules.samplers import InfiniteShardedSampler, module_iteration, trainer_world
from toonlift.errors import ConfigError
from toonlift.synthetic.dataset import SyntheticFaces


class SyntheticFacesDataModule(ToonDataModule):
    """Synthetic faces with ground truth (registry name ``synthetic_faces``).

    Batches are dicts: ``image`` ``[B, 3, R, R]`` in ``[-1, 1]`` plus every requested ground truth (``depth``,
    ``normal``, ``mask``, ``parts``, ``albedo``, ``landmarks``, ``landmarks_visible``, ``pose``, ``view``, ``light``,
    ``identity``, ``expression``) and ``index``. Training samples are indices ``0 .. num_samples - 1`` of ``seed``;
    validation and test samples come from the seeds ``seed + 1`` and ``seed + 2`` (never seen in training).

    Args:
        domain: ``"photo"``, ``"cartoon"`` or ``"ink"``.
        resolution: image side in pixels.
        num_samples: training samples.
        seed: world seed of the training split.
        outputs: ground truth to return besides ``index`` (the image is ``"image"``).
        batch_size: samples per batch.
        num_workers: DataLoader worker processes (each renders its own batches).
        cache_dir: if given, each split is rendered once and kept there as a safetensors file.
        val_samples: validation (and test) samples; 0 disables those loaders.
        shuffle: shuffle the training samples every epoch (``epochs`` stream; the endless stream is always a
            seeded shuffle of each pass).
        stream: ``"auto"``, ``"endless"`` or ``"epochs"``: the training order (see the module docstring).
    """

    STREAMS = ("auto", "endless", "epochs")

    def __init__(
        self,
        domain: str = "photo",
        resolution: int = 64,
        num_samples: int = 4096,
        seed: int = 0,
        outputs: list[str] | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        cache_dir: str | None = None,
        val_samples: int = 256,
        shuffle: bool = True,
        stream: str = "auto",
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"SyntheticFacesDataModule: batch_size must be >= 1, got {batch_size}.")
        if num_workers < 0 or val_samples < 0:
            raise ConfigError("SyntheticFacesDataModule: num_workers and val_samples must be >= 0.")
        if stream not in self.STREAMS:
            raise ConfigError(
                f"SyntheticFacesDataModule: stream must be one of {', '.join(self.STREAMS)}, got {stream!r}."
            )
        self.stream = stream
        if stream not in self.STREAMS:
            raise ConfigError(
                f"SyntheticFacesDataModule: stream must be one of {', '.join(self.STREAMS)}, got {stream!r}."
            )
        self.stream = stream
        self.domain, self.resolution, self.num_samples, self.seed = domain, resolution, num_samples, seed
        self.outputs = tuple(outputs) if outputs is not None else ("image",)
        self.batch_size, self.num_workers, self.cache_dir = batch_size, num_workers, cache_dir
        self.val_samples, self.shuffle = val_samples, shuffle
        self._splits: dict[str, SyntheticFaces] = {}
        # fail on a bad domain/outputs at construction (not at the first batch)
        SyntheticFaces(domain, resolution, num_samples, seed, self.outputs)

    def split(self, name: str) -> SyntheticFaces:
        """The ``"train"``, ``"val"`` or ``"test"`` dataset (built on first use)."""
        if name not in self._splits:
            offset, n = {"train": (0, self.num_samples), "val": (1, self.val_samples), "test": (2, self.val_samples)}[
                name
            ]
            self._splits[name] = SyntheticFaces(
                self.domain, self.resolution, n, self.seed + offset, self.outputs, cache_dir=self.cache_dir
            )
        return self._splits[name]

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.split(name),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def resolved_stream(self) -> str:
        """``"endless"`` or ``"epochs"``: what ``stream`` means for the module being trained."""
        if self.stream != "auto":
            return self.stream
        return "endless" if module_iteration(self) is not None else "epochs"

    def train_dataloader(self) -> DataLoader:
        world, rank = trainer_world(self)
        split = self.split("train")
        if self.resolved_stream() == "endless":
            start = (module_iteration(self) or 0) * self.batch_size  # samples this rank consumed before a resume
            sampler: DistributedSampler = InfiniteShardedSampler(len(split), world, rank, self.seed, start=start)
            drop_last = True  # every iteration sees a full batch, as in the image-folder path
        else:
            # DistributedSampler orders epoch e by randperm seeded with seed + e (Lightning calls set_epoch), so the
            # order does not depend on the global RNG or on what was drawn before
            sampler = DistributedSampler(split, num_replicas=world, rank=rank, shuffle=self.shuffle, seed=self.seed)
            drop_last = False
        return DataLoader(
            split,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            drop_last=drop_last,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", False) if self.val_samples else []

    def test_dataloader(self) -> DataLoader | list:
        return self._loader("test", False) if self.val_samples else []

    def predict_dataloader(self) -> DataLoader:
        return self._loader("train", False)
