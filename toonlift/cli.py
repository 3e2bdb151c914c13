"""The toonlift command line: a LightningCLI over every registered module and data module, plus extra commands.

``python cli.py fit --config configs/disney.yaml`` and ``toonlift fit --config ...`` are the same program.

Plugins are selected in configs with jsonargparse's ``class_path``/``init_args``. ``class_path`` accepts, in this
order, a **registry name** (``stylegan2``), a class name (``StyleGAN2Backbone``) or a full dotted path
(``toonlift.plugins.stylegan2.StyleGAN2Backbone``). A registry name resolves only to a plugin of a kind
that fits the slot, so ``class_path: stylegan2`` means the backbone in a backbone slot and the discriminator in a
discriminator slot. Saved configs always hold the full dotted path.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable

from toonlift.errors import ToonliftError

# Extra subcommands that are not Trainer methods: name -> (module:function, one-line help). Each function takes
# ``argv: list[str]`` and returns an exit code.
EXTRA_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "toonlift.demo.command:main",
        "run the whole pipeline on the synthetic world with the shipped generators (writes outputs/demo/index.html)",
    ),
    "plugins": ("toonlift.registry:main", "list every plugin kind with its names, targets and providers"),
    "blend": (
        "toonlift.plugins.stylegan2.commands:blend_main",
        "write a StyleGAN2 generator blended layer by layer from two generators",
    ),
    "project": (
        "toonlift.plugins.stylegan2.commands:project_main",
        "invert a photo into a StyleGAN2 latent (writes the latent and a side-by-side PNG)",
    ),
    "invert-synthetic": (
        "toonlift.stages.vlda.invert_synthetic:main",
        "invert synthetic faces with known depth into a generator (latents + ground truth for Stage 3)",
    ),
    "export-generator": (
        "toonlift.stages.finetune.export:main",
        "export a Stage-1 checkpoint's G_ema as safetensors + JSON",
    ),
    "eg3d-views": (
        "toonlift.stages.eg3d_gan.views:main",
        "render an EG3D generator's faces at fixed yaws (image, raw and depth grids) and export density meshes",
    ),
    "convert-eg3d": (
        "toonlift.plugins.eg3d.commands:convert_main",
        "convert an official EG3D network pickle to safetensors + JSON (needs --trust_pickle: unpickling runs code)",
    ),
}

_RESOLVER_INSTALLED = False


def install_name_resolver() -> bool:
    """Teach jsonargparse to resolve registry names in ``class_path`` (idempotent).

    jsonargparse resolves a ``class_path`` without a dot by looking for an imported subclass of that name; we wrap
    that single function so registry names are tried first. Returns False (and names fall back to class names)
    if the installed jsonargparse no longer has the hook; the CLI tests catch that.
    """
    global _RESOLVER_INSTALLED
    if _RESOLVER_INSTALLED:
        return True
    try:
        from jsonargparse import _from_config, _typehints
    except ImportError:
        return False
    original: Callable | None = getattr(_typehints, "resolve_class_path_by_name", None)
    if original is None:
        return False

    from toonlift.registry import resolve_name

    def resolve_class_path_by_name(cls, name: str) -> str:  # noqa: ANN001 - jsonargparse's signature
        if isinstance(name, str) and "." not in name:
            bases = cls if isinstance(cls, tuple) else (cls,)
            for base in bases:
                try:
                    found = resolve_name(name, base if isinstance(base, type) else None)
                except ToonliftError:
                    found = None
                if found is not None:
                    return found
        return original(cls, name)

    _typehints.resolve_class_path_by_name = resolve_class_path_by_name
    if hasattr(_from_config, "resolve_class_path_by_name"):
        _from_config.resolve_class_path_by_name = resolve_class_path_by_name
    _RESOLVER_INSTALLED = True
    return True


def _cli_class():
    from pytorch_lightning.cli import LightningCLI

    class ToonCLI(LightningCLI):
        """LightningCLI in subclass mode over :class:`ToonModule` and :class:`ToonDataModule` (modules configure
        their own G/D optimisers: ``auto_configure_optimizers=False``, no top-level optimizer groups)."""

    return ToonCLI


def _extra_help() -> str:
    # argparse reflows the description, so it is written as sentences rather than a table
    rows = "; ".join(f"'{name}' ({help_})" for name, (_, help_) in EXTRA_COMMANDS.items())
    return (
        "toonlift: a face to a 3D cartoon avatar with controllable expressions. "
        "Trainer subcommands: fit, validate, test, predict; each takes --config FILE.yaml and "
        "`SUBCOMMAND --help` lists its options (`--model.help NAME` shows a plugin's arguments). "
        f"Other commands: {rows}."
    )


def cli_main(args: list[str] | None = None, run: bool = True):
    """Build the LightningCLI (what ``fit/validate/test/predict`` run). Tests call this with ``args``.

    Args:
        args: argument list (defaults to ``sys.argv[1:]``).
        run: run the subcommand; ``False`` only parses and instantiates (pass args without a subcommand).
    """
    from toonlift.datamodules.base import ToonDataModule
    from toonlift.lightning_modules.base import ToonModule
    from toonlift.registry import import_plugins

    install_name_resolver()
    import_plugins()
    return _cli_class()(
        ToonModule,
        ToonDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"description": _extra_help()} if run else None,
        args=args,
        run=run,
    )


def _run_extra(name: str, argv: list[str]) -> int:
    from toonlift.registry import _import_target

    target, _ = EXTRA_COMMANDS[name]
    return int(_import_target(target)(argv) or 0)


def _user_error(err: BaseException) -> Exception | None:
    """The first user-fixable error in an exception's cause/context chain.

    That is a :class:`ToonliftError`, or Lightning's ``MisconfigurationException`` (a contradictory Trainer config,
    e.g. ``enable_progress_bar: false`` next to a progress-bar callback).
    """
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, ToonliftError | MisconfigurationException):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``toonlift`` and ``python cli.py``: user errors print one paragraph and exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in EXTRA_COMMANDS:
            return _run_extra(args[0], args[1:])
        cli_main(argv)  # None: LightningCLI reads sys.argv itself
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as err:  # noqa: BLE001 - we only swallow user errors, others re-raise below
        user = _user_error(err)
        if user is None or os.environ.get("TOONLIFT_DEBUG"):
            raise
        message = textwrap.fill(str(user), width=100, subsequent_indent="  ")
        sys.stderr.write(f"toonlift: error: {message}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
