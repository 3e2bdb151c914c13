"""Invalid settings fail at construction with one ConfigError paragraph; `null` on the command line means not given."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.test_cli_faults import one_paragraph
from toonlift.cli import cli_main, main
from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
from toonlift.errors import ConfigError
from toonlift.plugins.losses.path_length import PathLengthLoss
from toonlift.plugins.losses.r1 import R1Loss
from toonlift.plugins.losses.structure import StructureLoss
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.stages.finetune.adaptive_augment import AdaptiveAugment

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "synthetic_cartoon_gan.yaml")


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: R1Loss(interval=0), "R1Loss: interval must be an integer >= 1, got 0."),
        (lambda: R1Loss(weight=float("nan")), "R1Loss: weight must be a finite number, got nan."),
        (lambda: StructureLoss(num_blocks=0), "StructureLoss: num_blocks must be an integer >= 1, got 0."),
        (lambda: StructureLoss(weight=-1.0), "StructureLoss: weight must be >= 0, got -1.0."),
        (lambda: PathLengthLoss(decay=1.5), "PathLengthLoss: decay must be in [0, 1], got 1.5."),
        (lambda: DepthMapRenderer(image_size=-8), "DepthMapRenderer: image_size must be an integer >= 1, got -8."),
        (lambda: SyntheticFacesDataModule(resolution=-64), "resolution must be >= 8 pixels, got -64."),
        (lambda: AdaptiveAugment(target=float("nan")), "AdaptiveAugment: target must be a finite number, got nan."),
    ],
)
def test_bad_numbers_are_refused_at_construction(build, expected):
    with pytest.raises(ConfigError) as info:
        build()
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (("--model.init_args.lr", ".nan"), "FinetuneModule: lr must be a finite number, got nan."),
        (
            ("--model.init_args.lr", "nan"),  # YAML reads `nan` as a string: a type error naming the setting
            "The setting `model.lr` is invalid: Expected a <class 'float'>. Got value: nan.",
        ),
        (("--model.init_args.lr", "-0.002"), "FinetuneModule: lr must be > 0, got -0.002."),
        (("--model.init_args.ema_decay", "1.5"), "FinetuneModule: ema_decay must be in [0, 1), got 1.5."),
        (("--model.init_args.r1.init_args.interval", "0"), "R1Loss: interval must be an integer >= 1, got 0."),
        (("--data.init_args.resolution", "-64"), "resolution must be >= 8 pixels, got -64."),
    ],
)
def test_bad_numbers_in_a_config_end_in_one_paragraph_before_any_work(override, expected, capsys):
    assert main(["fit", "--config", CONFIG, *override]) == 2
    assert expected in one_paragraph(capsys.readouterr().err)


def test_null_on_a_nested_optional_checkpoint_means_not_given():
    argv = ["--config", CONFIG, "--model.init_args.generator.init_args.checkpoint", "null"]
    cli = cli_main(argv, run=False)
    assert cli.config.model.init_args.generator.init_args.checkpoint is None  # not the string "None"
    assert cli.config.model.init_args.discriminator.init_args.checkpoint.endswith("synthetic_photo_d.safetensors")
    # the generator was built without loading anything: its weights are not the shipped photo generator's
    from toonlift.utils.io import load_safetensors

    shipped, _ = load_safetensors(Path(CONFIG).parents[1] / "toonlift" / "assets" / "synthetic_photo_g.safetensors")
    name = next(k for k in shipped if k.endswith("weight") and shipped[k].numel() > 16)
    assert not torch.equal(cli.model.generator.state_dict()[name], shipped[name])
