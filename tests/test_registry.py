"""The plugin registry: lazy discovery, clear errors, conflicts, and a real third-party distribution."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import TOY_BACKBONE_SOURCE
from toonlift.plugins.backbones.base import Backbone
from toonlift.registry import (
    BACKBONES,
    LOSSES,
    PluginConflictError,
    PluginLoadError,
    UnknownPluginError,
    format_listing,
    resolve_name,
)

TOY_EP = {"toonlift.backbones": {"toy": "toy_toonlift_plugin:ToyBackbone"}}


def test_third_party_backbone_is_listed_lazily_and_loads(install_distribution) -> None:
    install_distribution("toy-toonlift-plugin", TOY_EP, {"toy_toonlift_plugin": TOY_BACKBONE_SOURCE})
    assert "toy" in BACKBONES.names()
    spec = BACKBONES.spec("toy")
    assert spec.provider == "toy-toonlift-plugin 0.1"
    assert spec.class_path == "toy_toonlift_plugin.ToyBackbone"
    assert "toy_toonlift_plugin" not in sys.modules, "listing names must import nothing"

    cls = BACKBONES.get("toy")
    assert issubclass(cls, Backbone)
    model = BACKBONES.build("toy", size=4, latent=3)
    out = model(model.sample_z(2))
    assert out.image.shape == (2, 3, 4, 4)
    assert resolve_name("toy", Backbone) == "toy_toonlift_plugin.ToyBackbone"
    assert re.search(r"\n    toy +toy_toonlift_plugin\.ToyBackbone +\[toy-toonlift-plugin 0\.1\]\n", format_listing())


def test_unknown_name_lists_available_and_close_matches() -> None:
    with pytest.raises(UnknownPluginError) as info:
        LOSSES.get("structur")
    message = str(info.value)
    assert "Did you mean 'structure'" in message
    for name in ("l1", "nonsaturating", "r1", "structure"):
        assert name in message
    assert "toonlift.losses" in message


def test_broken_entry_point_names_its_distribution(install_distribution) -> None:
    install_distribution("broken-plugin", {"toonlift.backbones": {"broken": "no_such_module_xyz:Thing"}})
    assert "broken" in BACKBONES.names()  # listing still works
    with pytest.raises(PluginLoadError) as info:
        BACKBONES.get("broken")
    assert "broken-plugin 0.1" in str(info.value)
    assert "no_such_module_xyz" in str(info.value)


def test_plugin_that_is_not_a_subclass_is_rejected(install_distribution) -> None:
    install_distribution(
        "wrong-kind",
        {"toonlift.backbones": {"wrong": "wrong_kind_mod:NotABackbone"}},
        {"wrong_kind_mod": "class NotABackbone:\n    pass\n"},
    )
    with pytest.raises(PluginLoadError, match="not a subclass"):
        BACKBONES.get("wrong")


def test_two_distributions_claiming_one_name_conflict(install_distribution) -> None:
    install_distribution("first-dist", {"toonlift.backbones": {"clash": "first_mod:A"}})
    install_distribution("second-dist", {"toonlift.backbones": {"clash": "second_mod:B"}})
    with pytest.raises(PluginConflictError) as info:
        BACKBONES.names()
    assert "first-dist" in str(info.value) and "second-dist" in str(info.value)


def test_same_target_twice_is_not_a_conflict(install_distribution) -> None:
    install_distribution("copy-one", {"toonlift.losses": {"dup": "toonlift.plugins.losses.l1:L1Loss"}})
    install_distribution("copy-two", {"toonlift.losses": {"dup": "toonlift.plugins.losses.l1:L1Loss"}})
    assert LOSSES.names().count("dup") == 1


def test_runtime_registration_refuses_duplicates() -> None:
    @LOSSES.register("runtime_only_loss")
    class RuntimeLoss(LOSSES.base):
        def forward(self, x):
            return x.mean()

    try:
        assert LOSSES.get("runtime_only_loss") is RuntimeLoss
        with pytest.raises(PluginConflictError):
            LOSSES.register("runtime_only_loss")(RuntimeLoss)
        with pytest.raises(PluginConflictError):
            LOSSES.register("l1")(RuntimeLoss)
    finally:
        LOSSES.unregister("runtime_only_loss")


def test_registry_module_prints_every_kind() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "toonlift.registry"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    for kind in (
        "backbones",
        "discriminators",
        "losses",
        "renderers",
        "identity_encoders",
        "face_parsers",
        "landmark_detectors",
    ):
        assert kind in out
    assert "toonlift.plugins.losses.r1.R1Loss" in out
