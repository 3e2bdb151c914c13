"""The CLI: registry names in configs, --help, --print_config round trip, clean user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import TOY_BACKBONE_SOURCE
from toonlift.cli import cli_main, install_name_resolver, main

ROOT = Path(__file__).resolve().parents[1]
TOY_EP = {"toonlift.backbones": {"toy": "toy_toonlift_plugin:ToyBackbone"}}


def _write_config(path: Path, out_dir: Path, backbone_class_path: str = "toy") -> Path:
    config = {
        "seed_everything": 3,
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "logger": False,
            "enable_progress_bar": False,
            "default_root_dir": str(path.parent),  # the CLI saves config.yaml here, never in the working directory
        },
        "model": {
            "class_path": "sample",
            "init_args": {
                "backbone": {"class_path": backbone_class_path, "init_args": {"size": 8, "latent": 4}},
                "out_dir": str(out_dir),
            },
        },
        "data": {"class_path": "seeds", "init_args": {"count": 3, "batch_size": 2}},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_resolver_hook_is_available() -> None:
    # If jsonargparse drops the hook, registry names in configs stop working: this is the canary.
    assert install_name_resolver()


def test_config_selects_third_party_backbone_by_registry_name(install_distribution, tmp_path: Path) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    cfg = _write_config(tmp_path / "toy.yaml", tmp_path / "samples")
    cli = cli_main(["predict", "--config", str(cfg)])
    assert type(cli.model.backbone).__name__ == "ToyBackbone"
    assert type(cli.model).__name__ == "SampleModule"
    written = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert written == ["seed0000.png", "seed0001.png", "seed0002.png"]


def test_registry_name_class_name_and_dotted_path_are_equivalent(install_distribution, tmp_path: Path) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    for i, class_path in enumerate(["toy", "ToyBackbone", "toy_toonlift_plugin.ToyBackbone"]):
        cfg = _write_config(tmp_path / f"c{i}.yaml", tmp_path / f"s{i}", class_path)
        cli = cli_main(["--config", str(cfg)], run=False)
        assert type(cli.model.backbone).__name__ == "ToyBackbone"


def test_print_config_round_trips(install_distribution, tmp_path: Path, capsys) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    cfg = _write_config(tmp_path / "toy.yaml", tmp_path / "samples")
    with pytest.raises(SystemExit) as info:
        cli_main(["predict", "--config", str(cfg), "--print_config"])
    assert info.value.code == 0
    printed = capsys.readouterr().out
    dumped = yaml.safe_load(printed)
    # saved configs hold full dotted paths, never registry names
    assert dumped["model"]["init_args"]["backbone"]["class_path"] == "toy_toonlift_plugin.ToyBackbone"
    assert dumped["model"]["class_path"] == "toonlift.lightning_modules.sample.SampleModule"
    again = tmp_path / "printed.yaml"
    again.write_text(printed)
    with pytest.raises(SystemExit):
        cli_main(["predict", "--config", str(again), "--print_config"])
    assert yaml.safe_load(capsys.readouterr().out) == dumped


def test_user_error_is_one_paragraph_and_exit_2(install_distribution, tmp_path: Path, capsys) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    cfg = _write_config(tmp_path / "toy.yaml", tmp_path / "samples")
    code = main(["predict", "--config", str(cfg), "--data.init_args.count", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "count must be >= 1" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"], ["plugins"]])
def test_cli_entry_points_run(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    if args == ["--help"]:
        assert "plugins" in proc.stdout and "fit" in proc.stdout
    if args == ["plugins"]:
        assert "losses" in proc.stdout


def test_missing_config_file_fails_cleanly(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "fit", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "nope.yaml" in proc.stderr


def test_contradictory_trainer_config_is_a_clean_error(install_distribution, tmp_path: Path, capsys) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    cfg = _write_config(tmp_path / "toy.yaml", tmp_path / "samples")
    args = ["predict", "--config", str(cfg), "--trainer.callbacks+=RichProgressBar"]  # progress bar disabled in cfg
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert "enable_progress_bar" in err and "Traceback" not in err


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_config_parses(config: str, capsys) -> None:
    """Every recipe in configs/ resolves to a full config (class paths, grouped settings, overrides) as shipped.

    An overlay (a file without its own ``model.class_path``) is composed as its header's command line says.
    """
    import re

    text = (ROOT / "configs" / config).read_text()
    files = [config]
    if "class_path" not in (yaml.safe_load(text).get("model") or {}):
        files = re.findall(r"--config configs/(\S+\.yaml)", text)
        assert config in files, f"{config} is an overlay whose header does not show how to compose it"
    args = [a for f in files for a in ("--config", str(ROOT / "configs" / f))]
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", *args, "--print_config"])
    assert exit_info.value.code in (0, None), capsys.readouterr().err[-2000:]
    printed = capsys.readouterr().out
    assert "class_path: toonlift." in printed and "model:" in printed
