"""The extractor registry: explicit, loud about duplicates, plug-ins loaded only on request."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any, TypeVar

from b2bclient._exceptions import RegistryError
from b2bclient.base import TABLE_NAMES
from b2bclient.features._protocol import Extractor

__all__ = [
    "ENTRY_POINT_GROUP",
    "get_extractor",
    "list_extractors",
    "load_plugins",
    "register_extractor",
    "unregister_extractor",
]

#: Entry-point group in which installed packages declare extractor plug-ins.
ENTRY_POINT_GROUP = "b2bclient.extractors"

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_REGISTRY: dict[str, type[Any]] = {}

T = TypeVar("T", bound=type[Any])


def _check_class(cls: Any) -> str:
    if not isinstance(cls, type):
        raise RegistryError(
            "register_extractor takes an extractor class (a frozen attrs class with ClassVars "
            f"'name' and 'requires'). Got {cls!r} instead."
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(
            f"The extractor class {cls.__qualname__} must declare a ClassVar 'name' in snake_case "
            f"without double underscores, such as 'portal_use'. Got {name!r} instead."
        )
    requires = getattr(cls, "requires", None)
    if not isinstance(requires, tuple) or not all(r in TABLE_NAMES for r in requires):
        raise RegistryError(
            f"The extractor class {cls.__qualname__} must declare a ClassVar 'requires', a tuple "
            f"of table names among {', '.join(TABLE_NAMES)}. Got {requires!r} instead."
        )
    missing = [
        m
        for m in ("output_columns", "describe", "tags", "compute")
        if not callable(getattr(cls, m, None))
    ]
    if missing:
        raise RegistryError(
            f"The extractor class {cls.__qualname__} ({name!r}) must define the methods "
            f"output_columns, describe, tags and compute. Missing: {', '.join(missing)}."
        )
    return name


def register_extractor(cls: T) -> T:
    """Register an extractor class under its ``name``; usable as a class decorator.

    Parameters
    ----------
    cls : type
        A class following the :class:`~b2bclient.features.Extractor` protocol.

    Returns
    -------
    type
        `cls`, unchanged.

    Raises
    ------
    RegistryError
        If the name is already registered, or `cls` does not declare ``name``, ``requires`` and
        the protocol methods.

    Examples
    --------
    >>> from b2bclient.features import register_extractor, list_extractors
    >>> "purchasing" in list_extractors()
    True
    >>> from b2bclient.features import get_extractor
    >>> register_extractor(type(get_extractor("purchasing")))
    Traceback (most recent call last):
    ...
    b2bclient._exceptions.RegistryError: An extractor named 'purchasing' is already registered ...
    """
    name = _check_class(cls)
    if name in _REGISTRY:
        raise RegistryError(
            f"An extractor named {name!r} is already registered "
            f"({_REGISTRY[name].__module__}.{_REGISTRY[name].__qualname__}); pick another name or "
            f"call unregister_extractor({name!r}) first."
        )
    _REGISTRY[name] = cls
    return cls


def unregister_extractor(name: str) -> None:
    """Remove the extractor registered as `name`.

    Parameters
    ----------
    name : str
        A registered name.

    Raises
    ------
    RegistryError
        If no extractor of that name is registered.

    Examples
    --------
    >>> from typing import ClassVar
    >>> import attrs
    >>> from b2bclient.features import Contracts, list_extractors, register_extractor
    >>> from b2bclient.features import unregister_extractor
    >>> @register_extractor
    ... @attrs.frozen
    ... class Agreements(Contracts):
    ...     name: ClassVar[str] = "agreements"
    >>> list_extractors()[-1]
    'agreements'
    >>> unregister_extractor("agreements")
    >>> "agreements" in list_extractors()
    False
    """
    if name not in _REGISTRY:
        raise RegistryError(_unknown_message(name))
    del _REGISTRY[name]


def list_extractors() -> tuple[str, ...]:
    """Return the names of the registered extractors, built-ins first, in registration order.

    Plug-ins appear once loaded with :func:`load_plugins` or :func:`get_extractor`.

    Examples
    --------
    >>> from b2bclient.features import list_extractors
    >>> list_extractors()[:3]
    ('firmographics', 'purchasing', 'pipeline')
    """
    return tuple(_REGISTRY)


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_point(ep: metadata.EntryPoint) -> str:
    try:
        obj = ep.load()
    except Exception as exc:
        raise RegistryError(
            f"The extractor plug-in {ep.name!r} (entry point {ep.value!r} in group "
            f"{ENTRY_POINT_GROUP!r}) failed to load: {type(exc).__name__}: {exc}. Fix or uninstall "
            f"the package that declares it."
        ) from exc
    if isinstance(obj, type):
        registered = _REGISTRY.get(getattr(obj, "name", None) or "")
        if registered is not obj:
            register_extractor(obj)
        name = str(getattr(obj, "name", ""))
    else:
        # A module whose import registers its extractors.
        name = ep.name
    if name != ep.name or name not in _REGISTRY:
        raise RegistryError(
            f"The extractor plug-in {ep.name!r} (entry point {ep.value!r}) must provide an "
            f"extractor class whose 'name' is {ep.name!r}. Got {obj!r} instead."
        )
    return name


def load_plugins() -> tuple[str, ...]:
    """Load and register every extractor plug-in of the ``b2bclient.extractors`` entry points.

    Plug-ins are never loaded at import: call this (or :func:`get_extractor` with a plug-in's
    name) to load them. A plug-in already registered is left alone.

    Returns
    -------
    tuple of str
        The names of the plug-ins found.

    Raises
    ------
    RegistryError
        Naming the first plug-in that fails to import or does not provide an extractor.

    Examples
    --------
    >>> from b2bclient.features import load_plugins
    >>> isinstance(load_plugins(), tuple)
    True
    """
    names = []
    for ep in _entry_points():
        if ep.name in _REGISTRY and getattr(_REGISTRY[ep.name], "__module__", "") == ep.module:
            names.append(ep.name)
            continue
        names.append(_load_entry_point(ep))
    return tuple(names)


def _unknown_message(name: str) -> str:
    return (
        f"No extractor named {name!r} is registered. Known extractors: "
        f"{', '.join(_REGISTRY) or 'none'}. A plug-in must be installed with an entry point in "
        f"the group {ENTRY_POINT_GROUP!r}."
    )


def get_extractor(name: str, **params: Any) -> Extractor:
    """Return an instance of the extractor registered as `name`, built with `params`.

    An unknown name is looked up among the installed plug-ins (entry point group
    ``b2bclient.extractors``), which are loaded only then.

    Parameters
    ----------
    name : str
        Registered name, such as ``"purchasing"``.
    **params
        Parameters of the extractor, such as ``windows=("30D", "180D")``.

    Returns
    -------
    Extractor

    Raises
    ------
    RegistryError
        If no extractor or plug-in has that name, or the plug-in fails to load.

    Examples
    --------
    >>> from b2bclient.features import get_extractor
    >>> get_extractor("purchasing", windows=("30D",)).output_columns()[:3]
    ('purchasing__orders_total', 'purchasing__revenue_total', 'purchasing__recency_days')
    """
    cls = _REGISTRY.get(name)
    if cls is None:
        for ep in _entry_points():
            if ep.name == name:
                _load_entry_point(ep)
                cls = _REGISTRY[name]
                break
        else:
            raise RegistryError(_unknown_message(name))
    extractor: Extractor = cls(**params)
    return extractor
