"""Which StyleGAN2 style-modulation weights SeFa stacks, in the two published conventions.

* ``"rosinality"`` (``closed_form_factorization.py``): every ``*modulation.weight`` whose key does not contain
  ``to_rgbs`` -- i.e. ``conv1``, ``to_rgb1`` (the quirk of that filter) and all ``convs``, in state-dict order.
* ``"genforce"`` (``genforce/sefa``): the modulated convs of the chosen W+ layers (index ``i`` = the conv fed by
  ``ws[:, i]``; the last index is the final ToRGB).

The keys are rosinality's state-dict names, so the same selection works on a module or a bare state dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.functional.sefa import CONVENTIONS


def _num_ws(state: Mapping[str, Tensor]) -> int:
    n_convs = len({k.split(".")[1] for k in state if k.startswith("convs.")})
    return n_convs + 2  # conv1 + convs + final ToRGB index


def layer_modulation_key(layer: int, num_ws: int) -> str:
    """The modulation-weight key that W+ index ``layer`` feeds in the genforce convention."""
    if layer == 0:
        return "conv1.conv.modulation.weight"
    if layer == num_ws - 1:
        return f"to_rgbs.{(num_ws - 4) // 2}.conv.modulation.weight"
    return f"convs.{layer - 1}.conv.modulation.weight"


def modulation_weights(
    G: nn.Module | Mapping[str, Tensor],  # noqa: N803 - the paper's name
    layers: Sequence[int] | str = "all",
    convention: str = "rosinality",
) -> list[Tensor]:
    """The ``[C_l, style_dim]`` modulation weights of a StyleGAN2 generator (or its state dict), in order.

    Args:
        G: a ``StyleGAN2Backbone`` or its rosinality state dict.
        layers: ``"all"`` or W+ indices (genforce convention only; rosinality always uses its fixed set).
        convention: ``"rosinality"`` or ``"genforce"``.
    """
    state = G.state_dict() if isinstance(G, nn.Module) else G
    if convention == "rosinality":
        if layers != "all":
            raise ConfigError("SeFa layers can only be chosen with convention='genforce' (rosinality uses all)")
        return [state[k] for k in state if "modulation" in k and "weight" in k and "to_rgbs" not in k]
    if convention == "genforce":
        num_ws = _num_ws(state)
        idx = list(range(num_ws)) if layers == "all" else [int(i) for i in layers]
        bad = [i for i in idx if not 0 <= i < num_ws]
        if bad or not idx:
            raise ConfigError(f"SeFa layers must be W+ indices in [0, {num_ws - 1}], got {list(layers)}")
        return [state[layer_modulation_key(i, num_ws)] for i in idx]
    raise ConfigError(f"SeFa convention must be one of {CONVENTIONS}, got {convention!r}")
