"""``toonlift stylise`` end to end on tiny random generators (both methods, a world exemplar and a real image), the
``your3demoji``/``artmator`` LightningModules under a Trainer, and the command's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.oneshot_helpers import tiny_oneshot_models
from toonlift.cli import main

FAST = ["--rotation_frames", "3", "--mesh_resolution", "12", "--boundary_samples", "20"]
FILES = {"views.png", "rotation.gif", "rotation.mp4", "avatar.ply", "edits.png", "style_degree.png", "summary.json"}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return tiny_oneshot_models(tmp_path_factory.mktemp("oneshot_models"))


def test_artmator_from_a_world_exemplar_and_from_a_real_image(models, tmp_path: Path) -> None:
    out = tmp_path / "art"
    argv = ["stylise", "--method", "artmator", "--exemplar-world", "4,ink,30", "--generator", models["g3"],
            "--out", str(out), "--set", "anchor_steps=2", "--set", "style_steps=2", *FAST]  # fmt: skip
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} >= FILES
    summary = json.loads((out / "summary.json").read_text())
    assert summary["edits"]["rows"] == ["expr_jaw_open", "expr_smile_left", "expr_blink_left"]
    assert {"anchor", "stylise", "invert"} <= set(summary["seconds"])
    # a real photograph (scikit-image's astronaut) as the artwork, its camera searched, an input photo file
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    out2 = tmp_path / "real"
    argv = ["stylise", "--method", "artmator", "--exemplar", str(tmp_path / "astronaut.png"), "--exemplar-yaw", "20",
            "--input", str(tmp_path / "astronaut.png"), "--generator", models["g3"], "--out", str(out2), "--set",
            "anchor_steps=2", "--set", "style_steps=1", "--set", "invert_steps=1", "--set", "search_camera=true",
            "--mesh_resolution", "0", "--rotation_frames", "0", "--boundary_samples", "20"]  # fmt: skip
    assert main(argv) == 0
    assert (out2 / "views.png").is_file() and not (out2 / "avatar.ply").exists()


def test_your3demoji_from_a_world_exemplar(models, tmp_path: Path) -> None:
    steps = ["project_steps=1", "finetune_steps=2", "invert_steps=1", "pti_steps=1", "dual_steps=2"]
    argv = ["stylise", "--method", "your3demoji", "--exemplar-world", "0,cartoon,-30", "--input-world", "3,0",
            "--generator", models["g3"], "--generator_2d", models["g2"], "--discriminator_2d", models["d2"],
            "--out", str(tmp_path), *sum((["--set", s] for s in steps), []), *FAST]  # fmt: skip
    assert main(argv) == 0
    assert {p.name for p in tmp_path.iterdir()} >= FILES
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"finetune_2d", "stylise_2d", "pti", "dual"} <= set(summary["seconds"])
    assert set(summary["final_losses"]["dual"]) >= {"mse", "exemplar", "pair", "total"}
    # a real photograph (scikit-image's astronaut) as the exemplar and as the input photo
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    out = tmp_path / "real"
    argv = ["stylise", "--method", "your3demoji", "--exemplar", str(tmp_path / "astronaut.png"), "--input",
            str(tmp_path / "astronaut.png"), "--generator", models["g3"], "--generator_2d", models["g2"],
            "--discriminator_2d", models["d2"], "--out", str(out), *sum((["--set", s] for s in steps), []),
            *FAST]  # fmt: skip
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} >= FILES


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "magic", "--exemplar-world", "0,ink,30"], "--method must be one of"),
        (["--method", "your3demoji", "--exemplar-world", "0,ink,30"], "input photo"),
        (["--method", "artmator", "--exemplar-world", "0,oil,30"], "domain one of"),
        (["--method", "artmator", "--exemplar-world", "zero"], "FACE,DOMAIN,YAW"),
        (["--method", "artmator", "--exemplar-world", "0,ink,30", "--set", "style_steps=many"], "takes a int"),
        (["--method", "artmator", "--exemplar-world", "0,ink,30", "--set", "nope=1"], "NAME one of"),
        (["--method", "artmator", "--exemplar", "missing.png"], "does not exist"),
    ],
)
def test_bad_input_is_refused_in_one_paragraph(models, tmp_path: Path, capsys, extra, message) -> None:
    assert main(["stylise", *extra, "--generator", models["g3"], "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("toonlift: error:") and message in err.replace("\n  ", " ")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, b"not an image"])
def test_a_corrupt_exemplar_or_input_image_is_refused(models, tmp_path: Path, capsys, content: bytes) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    out = tmp_path / "o"
    for extra in (["--method", "artmator", "--exemplar", str(bad)],
                  ["--method", "your3demoji", "--exemplar-world", "0,ink,30", "--input", str(bad)]):  # fmt: skip
        assert main(["stylise", *extra, "--generator", models["g3"], "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("toonlift: error:") and "cannot be read" in err and err.count("error:") == 1
        assert not any(out.iterdir()) if out.exists() else True  # refused before any avatar file is written


def test_a_2d_generator_or_an_unwritable_folder_is_refused(models, tmp_path: Path, capsys) -> None:
    base = ["stylise", "--method", "artmator", "--exemplar-world", "0,ink,30"]
    assert main([*base, "--generator", models["g2"], "--out", str(tmp_path / "o")]) == 2
    assert "EG3D export" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*base, "--generator", models["g3"], "--out", str(blocker / "sub")]) == 2
    assert "--out" in capsys.readouterr().err


def test_modules_make_one_avatar_per_input_under_a_trainer(tmp_path: Path) -> None:
    import pytorch_lightning as pl

    from toonlift.datamodules.synthetic_faces import SyntheticFacesDataModule
    from toonlift.stages.artmator.module import ArtmatorModule

    module = ArtmatorModule(**ArtmatorModule.example_args(tmp_path))
    data = SyntheticFacesDataModule(resolution=16, num_samples=2, batch_size=2, outputs=["image", "pose"],
                                    val_samples=0, seed=7000)  # fmt: skip
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path))  # fmt: skip
    trainer.fit(module, data)
    avatars = sorted((tmp_path / "artmator").iterdir())
    assert [p.name for p in avatars] == ["avatar_00000", "avatar_00001"]
    assert all((p / "views.png").is_file() and (p / "edits.png").is_file() for p in avatars)
