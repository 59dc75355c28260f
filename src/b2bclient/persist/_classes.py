"""Which classes a saved model may name, and how a name is turned back into a class.

Loading never imports or calls anything a file names unless it is a class defined in
``b2bclient`` or ``sklearn`` and of an expected kind (an estimator, an attrs class, an enum).
"""

from __future__ import annotations

import enum
import importlib
import re
from typing import Any

import attrs

from b2bclient._exceptions import FormatError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_ROOTS",
    "class_name",
    "function_name",
    "is_allowed_module",
    "is_b2bclient_module",
    "resolve_class",
    "resolve_function",
]

#: Top-level packages whose classes a saved model may name.
ALLOWED_ROOTS: tuple[str, ...] = ("b2bclient", "sklearn")

#: Functions a saved model may refer to: scikit-learn stores them inside fitted estimators
#: (HistGradientBoosting keeps ``partial(check_array, ...)`` to prepare numeric columns). Each is
#: named by module and qualified name; no other callable is ever resolved from a file.
ALLOWED_FUNCTIONS: tuple[str, ...] = ("sklearn.utils.validation.check_array",)

_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_allowed_module(module: str) -> bool:
    """Tell whether `module` lies inside one of the allowed packages."""
    return any(module == root or module.startswith(root + ".") for root in ALLOWED_ROOTS)


def is_b2bclient_module(module: str) -> bool:
    """Tell whether `module` lies inside b2bclient."""
    return module == "b2bclient" or module.startswith("b2bclient.")


def class_name(cls: type) -> str:
    """Return the fully qualified name of `cls` (module and qualified name joined by dots)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_kind(cls: type, kind: str) -> bool:
    if kind == "estimator":
        from sklearn.base import BaseEstimator

        return issubclass(cls, BaseEstimator)
    if kind == "attrs":
        return attrs.has(cls) and is_b2bclient_module(cls.__module__)
    if kind == "enum":
        return issubclass(cls, enum.Enum) and is_b2bclient_module(cls.__module__)
    if kind == "sklearn_loss":
        from sklearn._loss.loss import BaseLoss

        return issubclass(cls, BaseLoss) and cls.__module__ == "sklearn._loss.loss"
    raise AssertionError(f"unknown class kind {kind!r}")


_KIND_TEXT = {
    "estimator": "a scikit-learn style estimator (a subclass of sklearn.base.BaseEstimator)",
    "attrs": "an attrs class defined in b2bclient",
    "enum": "an enum defined in b2bclient",
    "sklearn_loss": "a loss class of sklearn._loss.loss",
}


def resolve_class(name: Any, *, kind: str, where: str) -> type:
    """Turn the fully qualified class name `name` from a saved file back into a class.

    Parameters
    ----------
    name : object
        The name as read from the file; anything but a dotted name inside b2bclient or
        scikit-learn is refused before any import happens.
    kind : {"estimator", "attrs", "enum", "sklearn_loss"}
        What the class must be.
    where : str
        Location in the file, used in error messages.

    Returns
    -------
    type
        The class, defined in the module the name says (not merely re-exported there).

    Raises
    ------
    FormatError
        If the name is malformed, outside the allowed packages, not importable, not a class, or
        not of the expected kind.

    Examples
    --------
    >>> resolve_class("sklearn.preprocessing._data.StandardScaler", kind="estimator", where="x")
    <class 'sklearn.preprocessing._data.StandardScaler'>
    """
    if not isinstance(name, str):
        raise FormatError(f"The class name at {where} must be a string. Got {name!r} instead.")
    parts = name.split(".")
    if (
        len(parts) < 2
        or not all(_PART.fullmatch(p) for p in parts)
        or any(p.startswith("__") for p in parts)
    ):
        raise FormatError(
            f"The class name at {where} is not a plain dotted name: {name!r}. The file is "
            "damaged or was not written by b2bclient."
        )
    if parts[0] not in ALLOWED_ROOTS:
        raise FormatError(
            f"The file names the class {name!r} at {where}, but only classes defined in "
            f"{' or '.join(ALLOWED_ROOTS)} may be loaded. The file is foreign or was tampered "
            "with; nothing from it was imported or run."
        )
    obj: Any = None
    # The module is the longest importable prefix; the rest is the (possibly nested) class.
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        obj = module
        for attr in parts[split:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        break
    if obj is None:
        raise FormatError(
            f"The class {name!r} named at {where} cannot be found in this installation. The "
            "model was saved with another version of b2bclient or scikit-learn; load it with "
            "that version."
        )
    if not isinstance(obj, type) or class_name(obj) != name:
        raise FormatError(
            f"The name {name!r} at {where} is not a class defined under that name. The file is "
            "foreign or was tampered with; nothing from it was called."
        )
    if not is_allowed_module(obj.__module__) or not _check_kind(obj, kind):
        raise FormatError(
            f"The class {name!r} at {where} is not {_KIND_TEXT[kind]}, so it cannot be loaded. "
            "The file is foreign or was tampered with; nothing from it was called."
        )
    return obj


def function_name(func: Any) -> str | None:
    """Return the allowed name of `func`, or ``None`` when it may not be stored.

    Examples
    --------
    >>> from sklearn.utils.validation import check_array
    >>> function_name(check_array)
    'sklearn.utils.validation.check_array'
    >>> function_name(print) is None
    True
    """
    name = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
    if name in ALLOWED_FUNCTIONS and resolve_function(name, where="") is func:
        return name
    return None


def resolve_function(name: Any, *, where: str) -> Any:
    """Return the allowed function called `name`.

    Parameters
    ----------
    name : object
        The name as read from a file.
    where : str
        Location in the file, used in error messages.

    Returns
    -------
    callable

    Raises
    ------
    FormatError
        If `name` is not one of :data:`ALLOWED_FUNCTIONS`.

    Examples
    --------
    >>> resolve_function("sklearn.utils.validation.check_array", where="x").__name__
    'check_array'
    """
    if not isinstance(name, str) or name not in ALLOWED_FUNCTIONS:
        raise FormatError(
            f"The file refers to the function {name!r} at {where}, but only "
            f"{list(ALLOWED_FUNCTIONS)} may be loaded. The file is foreign or was tampered "
            "with; nothing from it was imported or run."
        )
    module_name, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)
