"""Plugin registries: one :class:`Registry` per plugin kind, fed by Python entry points.

Every swappable part of toonlift (generator backbones, discriminators, losses, renderers, identity encoders,
face parsers, feature extractors, landmark detectors, LightningModules and DataModules) is a *plugin*: a class
registered under a short snake_case name in an entry-point group such as ``toonlift.backbones``. The built-in
plugins are declared in ``setup.cfg`` exactly like a third-party package would declare its own, so the third-party
path is the one we use.

Design rules:

* Discovery is lazy: listing names reads installed metadata and imports nothing.
* ``get(name)`` imports the target on first use and checks it subclasses the kind's abstract base.
* An unknown name raises :class:`UnknownPluginError` listing the available names and close matches.
* A target that fails to import raises :class:`PluginLoadError` naming the distribution that provides it.
* Two distributions claiming one name with different targets raise :class:`PluginConflictError`.

Run ``python -m toonlift.registry`` (or ``toonlift plugins``) to print every kind with its names and providers.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar

from toonlift.errors import ToonliftError

T = TypeVar("T")


def singular(kind: str) -> str:
    """``"losses"`` -> ``"loss"``, ``"backbones"`` -> ``"backbone"``: a kind's name for one plugin."""
    return kind[:-2] if kind.endswith("sses") else kind[:-1]


class UnknownPluginError(ToonliftError, KeyError):
    """Raised when a registry has no plugin of the requested name."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class PluginLoadError(ToonliftError, ImportError):
    """Raised when a registered plugin's target cannot be imported or is not a subclass of the kind's base."""


class PluginConflictError(ToonliftError):
    """Raised when two distributions register one name with different targets."""


@dataclass(frozen=True)
class PluginSpec:
    """Where a plugin comes from, known without importing it.

    Attributes:
        name: registry name (the entry-point name).
        target: ``module:attr`` (entry points) or ``module.attr`` (in-process registrations).
        provider: the distribution that declares it, ``"name version"``, or ``"<runtime>"``.
    """

    name: str
    target: str
    provider: str

    @property
    def class_path(self) -> str:
        """The dotted import path jsonargparse and Lightning configs use (``module.Class``)."""
        return self.target.replace(":", ".")


def _iter_entry_points(group: str) -> Iterator[metadata.EntryPoint]:
    """Entry points of ``group`` from every installed distribution (Python >= 3.10 API)."""
    yield from metadata.entry_points(group=group)


def _provider(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "<unknown distribution>"
    return f"{dist.metadata['Name']} {dist.version}"


def _import_target(target: str) -> Any:
    """Import ``module:attr`` or ``module.attr`` and return the attribute."""
    if ":" in target:
        module_name, _, attr = target.partition(":")
    else:
        module_name, _, attr = target.rpartition(".")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """The plugins of one kind.

    Args:
        kind: short plural name of the kind, e.g. ``"backbones"`` (used in messages and listings).
        group: entry-point group that feeds this registry, e.g. ``"toonlift.backbones"``.
        base: import path of the abstract base class every plugin of this kind must subclass. It is a string so
            that building the registries imports no plugin code (and no torch).
    """

    def __init__(self, kind: str, group: str, base: str) -> None:
        self.kind = kind
        self.group = group
        self.base_path = base
        self._specs: dict[str, PluginSpec] | None = None
        self._local: dict[str, tuple[PluginSpec, type]] = {}
        self._loaded: dict[str, type] = {}

    # ------------------------------------------------------------------ discovery (no imports)
    def _discover(self) -> dict[str, PluginSpec]:
        if self._specs is not None:
            return self._specs
        specs: dict[str, PluginSpec] = {}
        for ep in _iter_entry_points(self.group):
            spec = PluginSpec(ep.name, ep.value.strip(), _provider(ep))
            seen = specs.get(ep.name)
            if seen is None:
                specs[ep.name] = spec
            elif seen.class_path != spec.class_path:
                raise PluginConflictError(
                    f"Two installed distributions register the {singular(self.kind)} '{ep.name}' with different "
                    f"targets: '{seen.target}' from {seen.provider} and '{spec.target}' from {spec.provider}. "
                    f"Uninstall one of them, or rename the entry point in group '{self.group}'."
                )
            # the same target twice (an editable install next to a wheel) is the same plugin
        self._specs = specs
        return specs

    def refresh(self) -> None:
        """Forget discovered entry points so the next call re-reads installed metadata."""
        self._specs = None
        self._loaded = {k: v for k, v in self._loaded.items() if k in self._local}

    def specs(self) -> list[PluginSpec]:
        """Every plugin of this kind, sorted by name, without importing any of them."""
        merged = dict(self._discover())
        merged.update({name: spec for name, (spec, _) in self._local.items()})
        return [merged[name] for name in sorted(merged)]

    def names(self) -> list[str]:
        """Sorted plugin names (imports nothing)."""
        return [spec.name for spec in self.specs()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._local or name in self._discover())

    def spec(self, name: str) -> PluginSpec:
        """The :class:`PluginSpec` of ``name``; raises :class:`UnknownPluginError` with suggestions."""
        if name in self._local:
            return self._local[name][0]
        specs = self._discover()
        if name in specs:
            return specs[name]
        available = self.names()
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownPluginError(
            f"Unknown {singular(self.kind)} '{name}'.{hint} Available {self.kind}: "
            f"{', '.join(available) if available else '(none)'}. Install a package that provides entry-point "
            f"group '{self.group}', or run `python -m toonlift.registry` to list every plugin."
        )

    def class_path(self, name: str) -> str:
        """Dotted class path of ``name`` (for configs), without importing it."""
        return self.spec(name).class_path

    # ------------------------------------------------------------------ loading
    @property
    def base(self) -> type:
        """The abstract base class of this kind (imported on first use)."""
        return _import_target(self.base_path)

    def get(self, name: str) -> type[T]:
        """Import and return the plugin class registered as ``name``."""
        if name in self._loaded:
            return self._loaded[name]
        spec = self.spec(name)
        if name in self._local:
            obj = self._local[name][1]
        else:
            try:
                obj = _import_target(spec.target)
            except Exception as err:  # any import-time failure of third-party code
                raise PluginLoadError(
                    f"The {singular(self.kind)} '{name}' (entry point '{spec.target}' in group '{self.group}', "
                    f"provided by {spec.provider}) failed to import: {type(err).__name__}: {err}. "
                    f"Reinstall or fix that distribution, or uninstall it."
                ) from err
        base = self.base
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise PluginLoadError(
                f"The {singular(self.kind)} '{name}' ('{spec.target}', provided by {spec.provider}) is not a subclass "
                f"of {base.__module__}.{base.__qualname__}; every plugin in group '{self.group}' must be."
            )
        self._loaded[name] = obj
        return obj

    def build(self, name: str, **kwargs: Any) -> T:
        """Instantiate the plugin ``name`` with keyword arguments."""
        return self.get(name)(**kwargs)

    def register(self, name: str, override: bool = False):
        """Decorator registering a class in-process (tests and notebooks; packages use entry points).

        Args:
            name: registry name.
            override: replace an existing plugin of that name instead of raising.
        """

        def decorator(cls: type) -> type:
            if not override and name in self:
                raise PluginConflictError(
                    f"A {singular(self.kind)} named '{name}' is already registered ({self.spec(name).target}); "
                    "pass override=True to replace it."
                )
            spec = PluginSpec(name, f"{cls.__module__}.{cls.__qualname__}", "<runtime>")
            self._local[name] = (spec, cls)
            self._loaded.pop(name, None)
            return cls

        return decorator

    def unregister(self, name: str) -> None:
        """Remove an in-process registration (entry points cannot be removed at run time)."""
        self._local.pop(name, None)
        self._loaded.pop(name, None)

    def __repr__(self) -> str:
        return f"Registry(kind={self.kind!r}, group={self.group!r})"


BACKBONES: Registry = Registry("backbones", "toonlift.backbones", "toonlift.plugins.backbones.base.Backbone")
DISCRIMINATORS: Registry = Registry(
    "discriminators", "toonlift.discriminators", "toonlift.plugins.discriminators.base.Discriminator"
)
LOSSES: Registry = Registry("losses", "toonlift.losses", "toonlift.plugins.losses.base.Loss")
RENDERERS: Registry = Registry("renderers", "toonlift.renderers", "toonlift.plugins.renderers.base.Renderer")
IDENTITY_ENCODERS: Registry = Registry(
    "identity_encoders", "toonlift.identity_encoders", "toonlift.plugins.identity.base.IdentityEncoder"
)
FACE_PARSERS: Registry = Registry("face_parsers", "toonlift.face_parsers", "toonlift.plugins.parsers.base.FaceParser")
FEATURE_EXTRACTORS: Registry = Registry(
    "feature_extractors", "toonlift.feature_extractors", "toonlift.plugins.features.base.FeatureExtractor"
)
LANDMARK_DETECTORS: Registry = Registry(
    "landmark_detectors", "toonlift.landmark_detectors", "toonlift.plugins.landmarks.base.LandmarkDetector"
)
MODULES: Registry = Registry("modules", "toonlift.modules", "toonlift.lightning_modules.base.ToonModule")
DATAMODULES: Registry = Registry("datamodules", "toonlift.datamodules", "toonlift.datamodules.base.ToonDataModule")

REGISTRIES: dict[str, Registry] = {
    r.kind: r
    for r in (
        BACKBONES,
        DISCRIMINATORS,
        LOSSES,
        RENDERERS,
        IDENTITY_ENCODERS,
        FACE_PARSERS,
        FEATURE_EXTRACTORS,
        LANDMARK_DETECTORS,
        MODULES,
        DATAMODULES,
    )
}


def import_plugins(strict: bool = False) -> list[str]:
    """Import every registered plugin so jsonargparse can resolve short class names and show ``--help``.

    A broken third-party entry point is skipped with a warning (it only fails if a config selects it).

    Args:
        strict: raise instead of warning on a plugin that fails to load.

    Returns:
        One message per plugin that failed to load.
    """
    import warnings

    problems: list[str] = []
    for registry in REGISTRIES.values():
        for name in registry.names():
            try:
                registry.get(name)
            except ToonliftError as err:
                if strict:
                    raise
                problems.append(str(err))
                warnings.warn(str(err), stacklevel=2)
    return problems


def resolve_name(name: str, base: type | None = None) -> str | None:
    """Dotted class path of a registry name, or ``None`` if no registry (compatible with ``base``) knows it.

    Args:
        name: a registry name such as ``"stylegan2"``.
        base: the type the config slot expects; only plugins that subclass it match.
    """
    for registry in REGISTRIES.values():
        if name not in registry:
            continue
        if base is None:
            return registry.class_path(name)
        cls = registry.get(name)
        if isinstance(base, type) and issubclass(cls, base):
            return registry.class_path(name)
    return None


def plugins_for_slot(base: type | None) -> tuple[str, list[str]]:
    """What a config slot of type ``base`` is called and the registry names that fit it.

    Returns:
        ``(kind, names)``: e.g. ``("backbone", ["stylegan2"])`` for a ``Backbone`` slot, or ``("plugin", all names)``
        when ``base`` is no plugin kind's (sub)class. Plugins are imported to test them against ``base``.
    """
    if isinstance(base, type):
        for registry in REGISTRIES.values():
            try:
                kind_base = registry.base
            except Exception:  # noqa: BLE001 - a kind whose base cannot import fits no slot
                continue
            if issubclass(base, kind_base) or issubclass(kind_base, base):
                names = []
                for name in registry.names():
                    try:
                        if issubclass(registry.get(name), base):
                            names.append(name)
                    except ToonliftError:  # a broken third-party plugin fits nothing
                        continue
                return singular(registry.kind), names
    return "plugin", sorted({n for r in REGISTRIES.values() for n in r.names()})


def unknown_name_message(name: str, base: type | None, key: str | None = None) -> str:
    """One paragraph for a ``class_path`` that names no plugin: the names of that kind and the closest matches."""
    kind, names = plugins_for_slot(base)
    everything = sorted({n for r in REGISTRIES.values() for n in r.names()})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5) or difflib.get_close_matches(
        name, everything, n=3, cutoff=0.6
    )
    where = f" given for `{key}`" if key else ""
    slot = f" ({base.__name__})" if isinstance(base, type) else ""
    hint = f" Closest match: {', '.join(repr(c) for c in close)}." if close else ""
    listing = ", ".join(names) if names else "(none installed)"
    return (
        f"Unknown {kind} '{name}'{where}: no installed {kind} of that name fits this setting{slot}.{hint} The "
        f"{kind} names that fit here are: {listing}. A class_path takes a registry name, a class name or a full "
        "dotted path; `toonlift plugins` lists every installed plugin, and a package that registers the entry point "
        "adds new ones."
    )


def format_listing() -> str:
    """Every kind with its names, targets and providers, as printed by ``python -m toonlift.registry``."""
    lines = []
    for registry in REGISTRIES.values():
        specs = registry.specs()
        lines.append(f"{registry.kind}  (entry-point group '{registry.group}', base {registry.base_path})")
        if not specs:
            lines.append("    (none installed)")
        width = max((len(s.name) for s in specs), default=0)
        for spec in specs:
            lines.append(f"    {spec.name:<{width}}  {spec.class_path}  [{spec.provider}]")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print every plugin kind with its names, targets and providers."""
    del argv
    try:
        sys.stdout.write(format_listing())
    except ToonliftError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
