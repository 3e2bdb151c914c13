"""A third-party plugin package, for real: ``examples/plugin_package`` is installed with pip (into a temporary
folder, no network, the environment untouched), its backbone and loss appear in the registry, pass the plugin
contract, and a config that names them trains and exports through toonlift's CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "examples" / "plugin_package"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "--target", str(target), str(PACKAGE)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target


def run(site: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def test_installed_plugins_are_registered_and_pass_the_contract(site: Path) -> None:
    listing = run(site, "-m", "toonlift.registry")
    assert listing.returncode == 0, listing.stderr[-2000:]
    for line in ("toonlift_example_plugin.dcgan.DCGANBackbone", "toonlift_example_plugin.hinge.HingeLoss"):
        assert line in listing.stdout and "toonlift-example-plugin" in listing.stdout
    contract = run(site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_plugin_contract.py",
                   "-k", "dcgan or hinge")  # fmt: skip
    assert contract.returncode == 0, contract.stdout[-3000:]
    assert "2 passed" in contract.stdout


def test_a_config_naming_them_trains_and_exports(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "g_dcgan.safetensors"
    fit = run(
        site, "cli.py", "fit", "--config", "examples/plugin_package/configs/dcgan_synthetic.yaml",
        "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
        "--model.init_args.max_iterations", "2", "--model.init_args.num_grid_samples", "2",
        "--model.init_args.export_path", str(out), "--data.init_args.num_samples", "8",
        "--data.init_args.batch_size", "4",
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["name"] == "dcgan" and meta["class_path"] == "toonlift_example_plugin.dcgan.DCGANBackbone"
    load = run(site, "-c", f"from toonlift.plugins.export import load_model; print(type(load_model('{out}')).__name__)")
    assert load.returncode == 0 and load.stdout.strip() == "DCGANBackbone", load.stderr[-2000:]
