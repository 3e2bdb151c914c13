"""The synthetic world as a ``torch`` Dataset: sample ``i`` of seed ``s`` rendered on the fly (batched) or cached.

Rendering is batched: the DataLoader's batch fetch calls :meth:`SyntheticFaces.__getitems__` with all indices of a
batch at once, so one rasterisation serves the whole batch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from toonlift.errors import ConfigError, DataError
from toonlift.synthetic.render import ALL_OUTPUTS, DOMAINS, FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.io import load_safetensors, save_safetensors

CACHE_VERSION = 1


def split_domains(domain: str) -> tuple[str, ...]:
    """The domains of a ``domain`` setting: one name, or a comma-separated mixture (``"photo,cartoon,toon+"``)."""
    names = tuple(d.strip() for d in domain.split(","))
    bad = [d for d in names if d not in DOMAINS]
    if bad or not names:
        raise ConfigError(
            f"Unknown synthetic domain '{domain}'; choose one of {', '.join(DOMAINS)}, or a comma-separated mixture "
            "of them (e.g. 'photo,cartoon,toon+')."
        )
    return names


def _check(domain: str, resolution: int, num_samples: int, outputs: tuple[str, ...]) -> None:
    split_domains(domain)
    if resolution < 8:
        raise ConfigError(f"SyntheticFaces: resolution must be >= 8 pixels, got {resolution}.")
    if num_samples < 1:
        raise ConfigError(f"SyntheticFaces: num_samples must be >= 1, got {num_samples}.")
    bad = [o for o in outputs if o not in ALL_OUTPUTS]
    if bad:
        raise ConfigError(f"Unknown synthetic ground truth {bad}; choose from {', '.join(ALL_OUTPUTS)}.")


class SyntheticFaces(Dataset):
    """Samples ``first .. first + num_samples - 1`` of ``seed``: dicts of the requested ground truth + ``index``.

    Args:
        domain: ``"photo"``, ``"cartoon"``, ``"ink"``, ``"toon+"``, or a comma-separated mixture of them (world
            sample ``i`` in domain ``i % n``; the batch then carries ``domain_index``, the position in the list).
        resolution: image side in pixels.
        num_samples: number of samples.
        seed: world seed.
        outputs: ground-truth entries to return (see :data:`toonlift.synthetic.render.ALL_OUTPUTS`).
        first: index of the first sample (disjoint splits use disjoint ranges or seeds).
        cache_dir: if given, render everything once and keep it in a safetensors file there.
        render_batch: images per rasterisation when filling the cache.
    """

    def __init__(
        self,
        domain: str = "photo",
        resolution: int = 64,
        num_samples: int = 1024,
        seed: int = 0,
        outputs: tuple[str, ...] = ("image",),
        first: int = 0,
        cache_dir: str | Path | None = None,
        render_batch: int = 64,
    ) -> None:
        outputs = tuple(outputs)
        _check(domain, resolution, num_samples, outputs)
        self.domain, self.resolution, self.num_samples = domain, int(resolution), int(num_samples)
        self.seed, self.first, self.outputs = int(seed), int(first), outputs
        self.render_batch = int(render_batch)
        self._renderer: FaceRenderer | None = None
        self._cache: dict[str, Tensor] | None = None
        if cache_dir is not None:
            self._cache = self._load_or_fill(Path(cache_dir))

    @property
    def renderer(self) -> FaceRenderer:
        if self._renderer is None:  # built lazily so worker processes build their own
            self._renderer = FaceRenderer()
        return self._renderer

    def __len__(self) -> int:
        return self.num_samples

    def render(self, indices: list[int]) -> dict[str, Tensor]:
        """Render dataset positions ``indices`` as one batch: ``{name: [B, ...]}``."""
        if any(i < 0 or i >= self.num_samples for i in indices):
            raise IndexError(f"sample index out of range 0..{self.num_samples - 1}: {indices}")
        ids = [self.first + i for i in indices]
        names = split_domains(self.domain)
        if len(names) == 1:
            out = self.renderer(sample_params(self.seed, ids), self.domain, self.resolution, self.outputs)
            batch = {k: out[k] for k in self.outputs}
        else:  # a mixture: world sample ``id`` is rendered in domain ``id % len(names)``; one render per domain
            which = torch.tensor(ids, dtype=torch.int64) % len(names)
            batch = {}
            for d, name in enumerate(names):
                pos = (which == d).nonzero()[:, 0]
                if len(pos) == 0:
                    continue
                out = self.renderer(
                    sample_params(self.seed, [ids[j] for j in pos]), name, self.resolution, self.outputs
                )
                for k in self.outputs:
                    if k not in batch:
                        batch[k] = out[k].new_zeros((len(ids), *out[k].shape[1:]))
                    batch[k][pos] = out[k]
            batch["domain_index"] = which
        batch["index"] = torch.tensor(ids, dtype=torch.int64)
        return batch

    def __getitems__(self, indices: list[int]) -> list[dict[str, Tensor]]:
        if self._cache is not None:
            idx = torch.as_tensor(indices, dtype=torch.int64)
            if bool(((idx < 0) | (idx >= self.num_samples)).any()):
                raise IndexError(f"sample index out of range 0..{self.num_samples - 1}")
            batch = {k: v[idx] for k, v in self._cache.items()}
        else:
            batch = self.render(list(indices))
        return [{k: v[j] for k, v in batch.items()} for j in range(len(indices))]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return self.__getitems__([int(i)])[0]

    def _key(self) -> str:
        spec = {
            "v": CACHE_VERSION,
            "domain": self.domain,
            "res": self.resolution,
            "n": self.num_samples,
            "seed": self.seed,
            "first": self.first,
            "outputs": sorted(self.outputs),
        }
        return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    def _load_or_fill(self, cache_dir: Path) -> dict[str, Tensor]:
        name = self.domain.replace(",", "-").replace("+", "plus")
        path = cache_dir / f"synthetic_{name}_{self.resolution}px_{self._key()}.safetensors"
        if path.is_file():
            tensors, _ = load_safetensors(path, what="synthetic-face cache")
            keys = (*self.outputs, "index", *(("domain_index",) if "," in self.domain else ()))
            missing = [k for k in keys if k not in tensors]
            if missing or len(tensors["index"]) != self.num_samples:
                raise DataError(f"The synthetic cache '{path}' is incomplete ({missing}); delete it to re-render.")
            return {k: (tensors[k].bool() if k == "landmarks_visible" else tensors[k]) for k in keys}
        chunks: list[dict[str, Tensor]] = []
        for lo in range(0, self.num_samples, self.render_batch):
            chunks.append(self.render(list(range(lo, min(lo + self.render_batch, self.num_samples)))))
        cache = {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}
        stored = {k: (v.to(torch.uint8) if v.dtype == torch.bool else v) for k, v in cache.items()}
        save_safetensors(path, stored, {"domain": self.domain, "resolution": self.resolution, "seed": self.seed})
        return cache
