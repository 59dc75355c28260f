"""Translation between Python objects and a JSON tree whose array leaves are ``.npy`` files.

Every JSON object in the tree is a tagged node ``{"__b2b__": kind, ...}``; JSON arrays are Python
lists, and JSON scalars are ``None``, ``bool``, ``int``, finite ``float`` and ``str``. Arrays of a
non-object dtype are never written into the JSON: the encoder collects them and the node refers to
a file by name. Decoding only ever builds values of the supported types and instantiates classes
accepted by :func:`b2bclient.persist._classes.resolve_class`; nothing else from a file is called.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient.persist._classes import is_b2bclient_module

__all__ = [
    "BIT_GENERATORS",
    "BUILTIN_TYPES",
    "MASKED_DTYPES",
    "SUPPORTED",
    "TAG",
    "array_file_name",
    "dtype_descr",
    "index_text",
    "parse_dtype",
    "protocol_of",
    "type_text",
    "tz_name",
]

TAG = "__b2b__"

SUPPORTED = (
    "None, bool, int, float, str, list, tuple, set, dict, numpy arrays of non-object dtypes "
    "(object arrays of supported values), numpy scalars, pandas Series/DataFrame/Index, "
    "Timestamp/Timedelta, numpy random states, slices, attrs records and enums of b2bclient, "
    "b2bclient or scikit-learn estimators (with their trees, losses and histogram-boosting "
    "predictors), and the scikit-learn functions they hold (check_array)"
)

BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
BUILTIN_TYPES: dict[str, type] = {
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "complex": complex,
    "bytes": bytes,
    "object": object,
}
MASKED_DTYPES = {
    "Int8": "IntegerArray",
    "Int16": "IntegerArray",
    "Int32": "IntegerArray",
    "Int64": "IntegerArray",
    "UInt8": "IntegerArray",
    "UInt16": "IntegerArray",
    "UInt32": "IntegerArray",
    "UInt64": "IntegerArray",
    "Float32": "FloatingArray",
    "Float64": "FloatingArray",
    "boolean": "BooleanArray",
}


def array_file_name(index: int) -> str:
    """Return the archive member name of the `index`-th array file."""
    return f"arrays/{index:06d}.npy"


def dtype_descr(dtype: np.dtype[Any]) -> Any:
    """Describe `dtype` as JSON (the ``.npy`` header's description, lists instead of tuples)."""
    descr = np.lib.format.dtype_to_descr(dtype)
    return _tuples_to_lists(descr)


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(v) for v in value]
    return value


def index_text(shape: tuple[int, ...], flat: int) -> str:
    if len(shape) == 1:
        return f"[{flat}]"
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def type_text(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def tz_name(tz: Any) -> str | None:
    """Return a time zone name that parses back to the same zone, or ``None``."""
    name = str(tz)
    try:
        back = pd.Timestamp(0, tz=name).tz
    except (ValueError, TypeError, KeyError, LookupError):
        return None
    if str(back) != name:
        return None
    return name


def parse_dtype(descr: Any) -> np.dtype[Any]:
    """Turn a JSON dtype description (as written by ``dtype_descr``) back into a dtype."""
    return np.lib.format.descr_to_dtype(_lists_to_tuples(descr))


def _lists_to_tuples(descr: Any) -> Any:
    if isinstance(descr, str):
        return descr
    if not isinstance(descr, list):
        raise ValueError(f"a dtype description must be a string or a list, not {descr!r}")
    fields = []
    for field in descr:
        if not isinstance(field, list) or len(field) not in (2, 3):
            raise ValueError(f"a structured dtype field must be a list, not {field!r}")
        name, sub = field[0], field[1]
        converted: tuple[Any, ...] = (
            name if isinstance(name, str) else tuple(name),
            _lists_to_tuples(sub),
        )
        if len(field) == 3:
            converted = (*converted, tuple(field[2]))
        fields.append(converted)
    return fields


def protocol_of(cls: type) -> str:
    """Return how the fitted state of `cls` is stored: "sklearn", "hooks" or "attributes"."""
    if not is_b2bclient_module(cls.__module__):
        return "sklearn"
    if getattr(cls, "_b2b_set_state", None) is not None:
        return "hooks"
    return "attributes"
