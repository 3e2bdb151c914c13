"""``SyntheticFacesDataModule``: the procedural face world as training, validation and test data."""

from __future__ import annotations

from torch.utils.data import DataLoader

from toonlift.datamodules.base import ToonDataModule
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
        shuffle: shuffle the training samples every epoch.
    """

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
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"SyntheticFacesDataModule: batch_size must be >= 1, got {batch_size}.")
        if num_workers < 0 or val_samples < 0:
            raise ConfigError("SyntheticFacesDataModule: num_workers and val_samples must be >= 0.")
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

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.shuffle)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", False) if self.val_samples else []

    def test_dataloader(self) -> DataLoader | list:
        return self._loader("test", False) if self.val_samples else []

    def predict_dataloader(self) -> DataLoader:
        return self._loader("train", False)
