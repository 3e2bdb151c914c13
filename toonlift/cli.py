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
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from toonlift.errors import CheckpointError, ConfigError, ToonliftError, WeightsNotFoundError
from toonlift.utils.config_values import missing_inputs, none_strings_to_none

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
    "rig-viewer": (
        "toonlift.stages.rig_fit.avatar_viewer:main",
        "rig a world face (head_rig + deformation transfer) and write avatar.glb with morph targets + viewer.html",
    ),
    "avatar": (
        "toonlift.stages.rig_fit.avatar_command:main",
        "one portrait to a textured, rigged 3D cartoon face (OBJ, GLB with 57 morph targets, viewer.html, metrics)",
    ),
    "animate": (
        "toonlift.stages.rig_fit.animate:main",
        "drive a rig-viewer avatar from landmarks: --video FILE | --frames-dir DIR (detector) or --synthetic",
    ),
    "styleuv": (
        "toonlift.stages.styleuv.command:main",
        "StyleFaceUV: a latent, seed or photo to a textured, displaced 3D face (OBJ/GLB, yaw -60..60 renders, edits)",
    ),
    "fit-boundary": (
        "toonlift.stages.boundaries.command:main",
        "fit an InterFaceGAN attribute boundary (linear SVM on analyser read-outs) in a generator's W space",
    ),
    "stylise": (
        "toonlift.stages.stylise.command:main",
        "one-shot 3D-aware stylisation (your3demoji | artmator) from one exemplar: rotation GIF, mesh, edits",
    ),
    "convert-eg3d": (
        "toonlift.plugins.eg3d.commands:convert_main",
        "convert an official EG3D network pickle to safetensors + JSON (needs --trust_pickle: unpickling runs code)",
    ),
}

_RESOLVER_INSTALLED = False
# (slot type, name) of every class_path name the resolver could not resolve since the CLI started parsing: the parser's
# error handler turns the one jsonargparse then rejects into the registry's "unknown name" paragraph
_UNRESOLVED: list[tuple[type | None, str]] = []


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
        resolved = original(cls, name)
        if isinstance(name, str) and "." not in str(resolved):
            first = cls[0] if isinstance(cls, tuple) and cls else cls
            _UNRESOLVED.append((first if isinstance(first, type) else None, name))
        return resolved

    _typehints.resolve_class_path_by_name = resolve_class_path_by_name
    if hasattr(_from_config, "resolve_class_path_by_name"):
        _from_config.resolve_class_path_by_name = resolve_class_path_by_name
    _RESOLVER_INSTALLED = True
    return True


_NOT_A_PATH = re.compile(r"Expected a dot import path string: (\S+)")
_PARSER_KEY = re.compile(r'Parser key "([^"]+)"')


def parse_error_message(message: str) -> str:
    """One paragraph for a jsonargparse error: an unknown plugin name gets the registry's list of names that fit
    and the closest matches; any other error is the parser's own text on one line, with where to read the options.
    """
    from toonlift.registry import unknown_name_message

    match = _NOT_A_PATH.search(message)
    if match:
        name = match.group(1)
        key = ".".join(_PARSER_KEY.findall(message[: match.start()])) or None
        base = next((b for b, n in reversed(_UNRESOLVED) if n == name), None)
        return unknown_name_message(name, base, key)
    keys = list(_PARSER_KEY.finditer(message))
    if keys:  # the innermost setting and its reason, not jsonargparse's union-subtype dump
        rest = message[keys[-1].end() :].lstrip(":").splitlines()
        reason = next((line.strip() for line in rest if line.strip()), "")
        if reason:
            key = ".".join(k.group(1) for k in keys)
            return (
                f"The setting `{key}` is invalid: {reason.rstrip('.')}. Fix it in the config or on the command line "
                "(YAML spells NaN `.nan`); `SUBCOMMAND --help` lists every option and `--model.help NAME` a "
                "plugin's arguments."
            )
    flat = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if flat.rstrip(": ") == "Unexpected config":  # jsonargparse's whole text for an empty config file
        return (
            "A config file given with --config is empty or is not a YAML mapping of settings. Give a config with "
            "at least `model:` and `data:` sections (e.g. configs/synthetic_cartoon_gan.yaml), or check the path."
        )
    return (
        f"The command line or config is invalid: {flat.rstrip('.')}. Fix that setting; `SUBCOMMAND --help` lists "
        "every option and `--model.help NAME` a plugin's arguments."
    )


def _parser_class():
    from pytorch_lightning.cli import LightningArgumentParser

    class ToonArgumentParser(LightningArgumentParser):
        """LightningArgumentParser whose errors are one paragraph (a :class:`ConfigError`), not a usage dump.

        Only errors that would end the program are turned (``exit_on_error``); jsonargparse's inner parsers that
        raise and catch their own errors keep doing so. ``TOONLIFT_DEBUG=1`` restores jsonargparse's behaviour.
        """

        def error(self, message: str, ex: Exception | None = None):  # noqa: ANN201 - NoReturn in the base
            if not self.exit_on_error or os.environ.get("TOONLIFT_DEBUG"):
                return super().error(message, ex)
            raise ConfigError(parse_error_message(message)) from ex

    return ToonArgumentParser


def _cli_class():
    from pytorch_lightning.cli import LightningCLI

    class ToonCLI(LightningCLI):
        """LightningCLI in subclass mode over :class:`ToonModule` and :class:`ToonDataModule` (modules configure
        their own G/D optimisers: ``auto_configure_optimizers=False``, no top-level optimizer groups).

        The Trainer reads and writes checkpoints through :class:`ToonCheckpointIO` (safe reads, one paragraph for a
        bad ``--ckpt_path``; temporary files beside their target).
        """

        def before_instantiate_classes(self) -> None:
            # `--a.init_args.checkpoint null` on a nested `str | None` argument reaches us as the string "None"
            # (jsonargparse parses null, then casts it to str): it means "not given", as in a YAML file
            self.config = none_strings_to_none(self.config)
            missing = missing_inputs(self.config.get(self.subcommand) if self.subcommand else self.config)
            if len(missing) > 1:  # one missing input gets its own, more specific message from the class that reads it
                listing = "; ".join(f"`{key}` = '{value}'" for key, value in missing)
                latents = any(key.endswith("latents") for key, _ in missing)
                where = "; latents come from `toonlift invert-synthetic` (the config's header shows the command)"
                raise WeightsNotFoundError(
                    f"{len(missing)} input files of this config were not found: {listing}. docs/data.md says where to "
                    f"get each data set and weights file{where if latents else ''}. Put them there, or point the "
                    "settings at your copies."
                )

        def instantiate_trainer(self, **kwargs):  # noqa: ANN003, ANN202 - LightningCLI's signature
            from toonlift.callbacks.checkpoint_io import install_checkpoint_io

            trainer = super().instantiate_trainer(**kwargs)
            install_checkpoint_io(trainer)
            return trainer

        def _parse_ckpt_path(self) -> None:
            # LightningCLI reads --ckpt_path here (for hyper-parameters) with a bare torch.load: check the file first
            # so that a bad one ends in one paragraph, and skip the second read when it holds no hyper-parameters
            from toonlift.utils.io import safe_torch_load

            subcommand = self.config.get("subcommand")
            ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
            if not ckpt_path or ckpt_path in ("last", "best", "hpc") or "://" in str(ckpt_path):
                return super()._parse_ckpt_path()
            if not Path(ckpt_path).expanduser().exists():
                raise CheckpointError(
                    f"The checkpoint given with --ckpt_path '{ckpt_path}' does not exist. Give the path of a .ckpt "
                    "file written by `toonlift fit`, or `--ckpt_path last` to resume from the newest one of the "
                    "config's checkpoint folder."
                )
            ckpt = safe_torch_load(ckpt_path, what="checkpoint given with --ckpt_path")
            if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
                raise CheckpointError(
                    f"The checkpoint given with --ckpt_path '{ckpt_path}' is a PyTorch file but not a training "
                    "checkpoint (it has no 'state_dict'); give a .ckpt written by `toonlift fit`."
                )
            if ckpt.get("hyper_parameters"):
                # LightningCLI lets the checkpoint's hyper-parameters override the config, which would make a run
                # resumed to train longer stop at the old limit; the iteration limit asked for now wins
                key = "model.init_args.max_iterations"
                asked = self.config[subcommand].get(key)
                super()._parse_ckpt_path()
                if asked is not None and self.config[subcommand].get(key) is not None:
                    self.config[subcommand][key] = asked

        def _output_folders(self) -> list[tuple[str, str]]:
            """``(folder, what)`` of every folder this run writes: logs, checkpoints, the module's exports."""
            from pytorch_lightning.callbacks import ModelCheckpoint

            trainer = self.trainer
            folders = [(str(trainer.default_root_dir), "trainer.default_root_dir")]
            for logger in trainer.loggers:
                if getattr(logger, "save_dir", None):
                    folders.append((str(logger.save_dir), f"save_dir of the {type(logger).__name__}"))
            for callback in trainer.callbacks:
                if isinstance(callback, ModelCheckpoint) and callback.dirpath:
                    folders.append((str(callback.dirpath), f"dirpath of {type(callback).__name__}"))
            for attr in ("export_path", "export_discriminator_path"):
                value = getattr(self.model, attr, None)
                if isinstance(value, str) and value:
                    folders.append((str(Path(value).expanduser().parent), f"folder of model.{attr}"))
            return folders

        def _run_subcommand(self, subcommand: str) -> None:
            from toonlift.lightning_modules.base import check_step_limit
            from toonlift.utils.output_dirs import check_writable_folder

            if subcommand == "fit":
                check_step_limit(self.model, self.trainer.max_steps)
            # before any work: a run must not find at its end that it cannot write its logs, checkpoints or exports
            for folder, what in dict(self._output_folders()).items():
                check_writable_folder(folder, f"output folder ({what})")
            ckpt_path = self.config_init.get(subcommand, {}).get("ckpt_path") if self.subcommand else None
            try:
                super()._run_subcommand(subcommand)
            except CheckpointError as err:
                # a mismatch found while restoring does not know the file; --ckpt_path does
                if ckpt_path and str(ckpt_path) not in str(err):
                    raise CheckpointError(f"The checkpoint given with --ckpt_path '{ckpt_path}': {err}") from err
                raise

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
    _UNRESOLVED.clear()
    return _cli_class()(
        ToonModule,
        ToonDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        save_config_kwargs={"overwrite": True},
        parser_class=_parser_class(),
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

    from toonlift.utils.output_dirs import WRITE_ERRNOS, describe_os_error

    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, ToonliftError | MisconfigurationException):
            return err
        if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:  # a full disk, a read-only folder met mid-run
            return describe_os_error(err)
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``toonlift`` and ``python cli.py``: user errors print one paragraph and exit 2.

    ``fit``/``validate``/``test``/``predict`` accept ``--threads N`` (torch CPU threads; 0 = the free cores, see
    :mod:`toonlift.utils.threads`); without it torch's default (one per core, or ``OMP_NUM_THREADS``) is kept.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in EXTRA_COMMANDS:
            return _run_extra(args[0], args[1:])
        from toonlift.utils.threads import apply_threads, pop_threads

        args, threads = pop_threads(args)
        if threads is not None:
            apply_threads(threads)
            argv = args
        cli_main(argv)  # None: LightningCLI reads sys.argv itself
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as err:  # noqa: BLE001 - we only swallow user errors, others re-raise below
        user = _user_error(err)
        if user is None or os.environ.get("TOONLIFT_DEBUG"):
            raise
        # paths must survive the wrapping whole: never break a word or at a hyphen
        message = textwrap.fill(
            str(user), width=100, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
        )
        sys.stderr.write(f"toonlift: error: {message}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
