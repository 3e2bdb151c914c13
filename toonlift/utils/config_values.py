"""Walks over a parsed CLI config: the input files it names that do not exist, and jsonargparse's ``"None"``."""

from __future__ import annotations

from pathlib import Path

# settings that name a file or folder the run reads (outputs such as export_path and dirpath are not inputs)
INPUT_KEYS = frozenset(
    {"checkpoint", "backbone_weights", "inception_weights", "init_weights", "latents", "ground_truth"}
)


def missing_inputs(config: object, prefix: str = "") -> list[tuple[str, str]]:
    """``(setting, path)`` of every input file or folder a parsed config names that does not exist.

    Inputs are the settings of :data:`INPUT_KEYS` anywhere and ``data.path``; ``init_args`` is left out of the
    setting names, as in the messages of the parser.
    """
    from jsonargparse import Namespace

    found: list[tuple[str, str]] = []
    if isinstance(config, Namespace):
        config = vars(config)
    if isinstance(config, dict):
        for key, value in config.items():
            name = prefix if key == "init_args" else f"{prefix}.{key}".lstrip(".")
            is_input = key in INPUT_KEYS or (name == "data.path")
            if is_input and isinstance(value, str) and value and "://" not in value:
                if not Path(value).expanduser().exists():
                    found.append((name, value))
            elif isinstance(value, Namespace | dict | list):
                found += missing_inputs(value, name)
    elif isinstance(config, list):
        for i, item in enumerate(config):
            found += missing_inputs(item, f"{prefix}[{i}]")
    return found


def none_strings_to_none(value: object) -> object:
    """``value`` with every string ``"None"`` (at any depth of namespaces, dicts and lists) replaced by ``None``."""
    from jsonargparse import Namespace

    if isinstance(value, str):
        return None if value == "None" else value
    if isinstance(value, Namespace):
        for key in list(vars(value)):
            setattr(value, key, none_strings_to_none(getattr(value, key)))
        return value
    if isinstance(value, dict):
        return {k: none_strings_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [none_strings_to_none(v) for v in value]
    return value
