"""Stage 1 on the synthetic world resumes exactly: 2 + 2 iterations with ``--ckpt_path last`` equal 4 in one go."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from tests.helpers_stage1 import write_tiny_config
from toonlift.cli import cli_main
from toonlift.datamodules.samplers import InfiniteShardedSampler
from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.errors import ConfigError
from toonlift.utils.io import safe_torch_load


def _synthetic_config(tmp_path: Path, name: str, root: Path) -> Path:
    """The tiny Stage-1 config of the image-folder tests, fed by the synthetic cartoon world at 16 px."""
    common = {"max_iterations": 4, "path_length": {"class_path": "path_length", "init_args": {"interval": 2}}}
    path = write_tiny_config(tmp_path / name, tmp_path / "unused", root, **common)
    config = yaml.safe_load(path.read_text())
    config["data"] = {
        "class_path": "synthetic_faces",
        "init_args": {"domain": "cartoon", "resolution": 16, "num_samples": 12, "seed": 5, "batch_size": 4,
                      "val_samples": 0},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _final(root: Path) -> dict:
    return safe_torch_load(root / "checkpoints" / "last.ckpt")


def test_interrupted_synthetic_stage1_equals_the_uninterrupted_run_bit_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    cli_main(["fit", "--config", str(_synthetic_config(tmp_path, "a.yaml", straight))])
    cfg_b = _synthetic_config(tmp_path, "b.yaml", split)
    cli_main(["fit", "--config", str(cfg_b), "--model.init_args.max_iterations", "2"])
    assert _final(split)["toonlift_finetune"]["iteration"] == 2
    cli_main(["fit", "--config", str(cfg_b), "--ckpt_path", "last"])
    a, b = _final(straight), _final(split)
    assert b["toonlift_finetune"]["iteration"] == 4
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for pid, state in opt_a["state"].items():
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(opt_b["state"][pid][name])), (pid, name)


def test_the_stream_follows_the_module_and_can_be_chosen():
    dm = SyntheticFacesDataModule(resolution=16, num_samples=6, batch_size=2, val_samples=0)
    assert dm.resolved_stream() == "epochs"  # no trainer, no module counting iterations
    assert isinstance(SyntheticFacesDataModule(num_samples=6, stream="endless").train_dataloader().sampler,
                      InfiniteShardedSampler)  # fmt: skip
    epochs = SyntheticFacesDataModule(num_samples=6, stream="epochs", seed=2).train_dataloader().sampler
    epochs.set_epoch(1)
    first = list(epochs)
    epochs.set_epoch(1)
    assert list(epochs) == first and sorted(first) == list(range(6))  # the order is a function of (seed, epoch)
    with pytest.raises(ConfigError, match="stream must be one of"):
        SyntheticFacesDataModule(stream="forever")
