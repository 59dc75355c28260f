"""Encoding of Python objects into the JSON tree and arrays of a saved model (see ``_codec``)."""

from __future__ import annotations

import enum
import functools
import math
import struct
import types
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import FormatError
from b2bclient.persist import _sklearn
from b2bclient.persist._classes import (
    class_name,
    function_name,
    is_allowed_module,
    is_b2bclient_module,
)
from b2bclient.persist._codec import (
    BIT_GENERATORS,
    BUILTIN_TYPES,
    MASKED_DTYPES,
    SUPPORTED,
    TAG,
    array_file_name,
    dtype_descr,
    index_text,
    protocol_of,
    type_text,
    tz_name,
)

__all__ = ["Encoder"]


class Encoder:
    """Encode a model into a JSON tree plus a list of arrays.

    Parameters
    ----------
    owner : str
        Name of the object being saved, used at the start of attribute paths in error messages.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.arrays: list[np.ndarray[Any, Any]] = []
        self._active: set[int] = set()

    # -- errors -------------------------------------------------------------------------------
    def _unsupported(self, value: Any, path: str, why: str = "") -> FormatError:
        extra = f" ({why})" if why else ""
        return FormatError(
            f"Cannot save {self.owner}: {path} holds a {type_text(value)}{extra}, which "
            f"b2bclient.save cannot store without pickle. Supported values are {SUPPORTED}. "
            "Convert it to one of those, or give the class _b2b_get_state/_b2b_set_state "
            "methods that return and accept only supported values."
        )

    # -- entry points -------------------------------------------------------------------------
    def encode(self, value: Any, path: str) -> Any:
        """Encode `value` found at `path` into a JSON-able node."""
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            if math.isfinite(value):
                return value
            return {TAG: "float", "bits": struct.pack(">d", value).hex()}
        container = isinstance(value, (list, tuple, dict, set, frozenset, np.ndarray))
        key = id(value)
        if container or hasattr(value, "__dict__"):
            if key in self._active:
                raise FormatError(
                    f"Cannot save {self.owner}: {path} refers back to an object that contains "
                    "it (a reference cycle). Break the cycle before saving."
                )
            self._active.add(key)
        try:
            return self._encode(value, path)
        finally:
            self._active.discard(key)

    def _encode(self, value: Any, path: str) -> Any:
        kind = type(value)
        if kind is list:
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind is tuple:
            return {
                TAG: "tuple",
                "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)],
            }
        if kind is dict:
            return self._encode_dict(value, path)
        if kind in (set, frozenset):
            items = [self.encode(v, f"{path}{{{v!r}}}") for v in value]
            items.sort(key=lambda node: repr(node))
            return {TAG: kind.__name__, "items": items}
        if kind is np.ndarray:
            return self._encode_ndarray(value, path)
        if isinstance(value, np.generic):
            return self._encode_numpy_scalar(value, path)
        if value is pd.NaT:
            return {TAG: "nat"}
        if value is pd.NA:
            return {TAG: "na"}
        if kind is pd.Timestamp:
            return self._encode_timestamp(value, path)
        if kind is pd.Timedelta:
            return {
                TAG: "timedelta",
                "unit": value.unit,
                "value": int(value.asm8.view("i8")),
            }
        if isinstance(value, pd.Index):
            return self._encode_index(value, path)
        if kind is pd.Series:
            node = {
                TAG: "series",
                "values": self._encode_values(value.array, f"{path}.values"),
                "index": self._encode_index(value.index, f"{path}.index"),
                "name": self.encode(value.name, f"{path}.name"),
            }
            if value.attrs:
                node["attrs"] = self.encode(value.attrs, f"{path}.attrs")
            return node
        if kind is pd.DataFrame:
            return self._encode_frame(value, path)
        if kind is slice:
            return {
                TAG: "slice",
                "start": self.encode(value.start, f"{path}.start"),
                "stop": self.encode(value.stop, f"{path}.stop"),
                "step": self.encode(value.step, f"{path}.step"),
            }
        if kind is functools.partial:
            name = function_name(value.func)
            if name is None:
                raise self._unsupported(value.func, f"{path}.func", "a function is code")
            return {
                TAG: "partial",
                "function": name,
                "args": [self.encode(v, f"{path}.args[{i}]") for i, v in enumerate(value.args)],
                "keywords": self.encode(value.keywords, f"{path}.keywords"),
            }
        if isinstance(value, types.FunctionType):
            name = function_name(value)
            if name is None:
                raise self._unsupported(value, path, "a function is code")
            return {TAG: "function", "name": name}
        if kind is np.random.RandomState:
            return {
                TAG: "random_state",
                "state": self.encode(value.get_state(legacy=False), f"{path}.state"),
            }
        if kind is np.random.Generator:
            bit_generator = value.bit_generator
            name = type(bit_generator).__name__
            if name not in BIT_GENERATORS or type(bit_generator) is not getattr(np.random, name):
                raise self._unsupported(value, path, f"bit generator {name}")
            return {
                TAG: "generator",
                "bit_generator": name,
                "state": self.encode(bit_generator.state, f"{path}.state"),
            }
        if kind is np.dtype or isinstance(value, np.dtype):
            if value.hasobject and value.fields is not None:
                raise self._unsupported(value, path, "structured dtype with object fields")
            return {TAG: "dtype", "descr": dtype_descr(value)}
        if isinstance(value, type):
            return self._encode_type(value, path)
        if isinstance(value, enum.Enum):
            if not is_b2bclient_module(kind.__module__):
                raise self._unsupported(value, path, "only enums of b2bclient are stored")
            return {
                TAG: "enum",
                "class": class_name(kind),
                "value": self.encode(value.value, f"{path}.value"),
            }
        if attrs.has(kind):
            return self._encode_attrs(value, path)
        if hasattr(value, "get_params") and is_allowed_module(kind.__module__):
            return self.encode_estimator(value, path)
        special = _sklearn.special_kind(value)
        if special is not None:
            fields = _ENCODERS[special](self, value, path)
            if fields is None:
                raise self._unsupported(value, path, "not in a form b2bclient knows how to store")
            return {TAG: special, **fields}
        raise self._unsupported(value, path)

    # -- containers ---------------------------------------------------------------------------
    def _encode_dict(self, value: dict[Any, Any], path: str) -> dict[str, Any]:
        if all(type(k) is str for k in value):
            return {
                TAG: "dict",
                "items": {k: self.encode(v, f"{path}[{k!r}]") for k, v in value.items()},
            }
        return {
            TAG: "dict",
            "pairs": [
                [self.encode(k, f"{path} key {k!r}"), self.encode(v, f"{path}[{k!r}]")]
                for k, v in value.items()
            ],
        }

    def array_ref(self, array: np.ndarray[Any, Any]) -> dict[str, Any]:
        name = array_file_name(len(self.arrays))
        self.arrays.append(array)
        return {
            TAG: "ndarray",
            "file": name,
            "dtype": dtype_descr(array.dtype),
            "shape": list(array.shape),
        }

    def _encode_ndarray(self, value: np.ndarray[Any, Any], path: str) -> dict[str, Any]:
        if not value.dtype.hasobject:
            return self.array_ref(value)
        if value.dtype != np.dtype(object):
            raise self._unsupported(value, path, "structured dtype with object fields")
        flat = value.reshape(-1, order="C")
        return {
            TAG: "object_array",
            "shape": list(value.shape),
            "items": [
                self.encode(item, f"{path}{index_text(value.shape, i)}")
                for i, item in enumerate(flat)
            ],
        }

    def _encode_numpy_scalar(self, value: np.generic, path: str) -> dict[str, Any]:
        dtype = value.dtype
        if dtype.hasobject or dtype.fields is not None or dtype.kind == "V":
            raise self._unsupported(value, path, "object or structured numpy scalar")
        return {TAG: "scalar", "dtype": dtype_descr(dtype), "hex": value.tobytes().hex()}

    def _encode_type(self, value: type, path: str) -> dict[str, Any]:
        if BUILTIN_TYPES.get(value.__name__) is value:
            return {TAG: "type", "name": f"builtins.{value.__name__}"}
        if issubclass(value, np.generic) and getattr(np, value.__name__, None) is value:
            return {TAG: "type", "name": f"numpy.{value.__name__}"}
        raise FormatError(
            f"Cannot save {self.owner}: {path} holds the class {class_name(value)}; only builtin "
            "and numpy scalar types can be stored as values. Store a string naming it instead."
        )

    def _encode_timestamp(self, value: pd.Timestamp, path: str) -> dict[str, Any]:
        tz = None
        if value.tzinfo is not None:
            tz = tz_name(value.tz)
            if tz is None:
                raise self._unsupported(value, path, f"time zone {value.tz!r} has no IANA name")
        return {TAG: "timestamp", "unit": value.unit, "value": int(value.asm8.view("i8")), "tz": tz}

    # -- pandas -------------------------------------------------------------------------------
    def _encode_values(self, array: Any, path: str) -> dict[str, Any]:
        dtype = array.dtype
        if type(array) is pd.arrays.NumpyExtensionArray or isinstance(dtype, np.dtype):
            return self._encode_ndarray(np.asarray(array), path)
        if isinstance(dtype, pd.CategoricalDtype):
            return {
                TAG: "categorical",
                "categories": self._encode_index(dtype.categories, f"{path}.categories"),
                "ordered": bool(dtype.ordered),
                "codes": self.array_ref(np.asarray(array.codes)),
            }
        if isinstance(dtype, pd.DatetimeTZDtype):
            tz = tz_name(dtype.tz)
            if tz is None:
                raise self._unsupported(array, path, f"time zone {dtype.tz!r} has no IANA name")
            utc = pd.DatetimeIndex(array).tz_convert("UTC").tz_localize(None)
            return {TAG: "datetime_tz", "tz": tz, "values": self.array_ref(utc.to_numpy())}
        if str(dtype) in MASKED_DTYPES and type(array).__name__ == MASKED_DTYPES[str(dtype)]:
            return {
                TAG: "masked",
                "dtype": str(dtype),
                "data": self.array_ref(np.asarray(array._data)),
                "mask": self.array_ref(np.asarray(array._mask)),
            }
        if isinstance(dtype, pd.StringDtype):
            na_value = "NA" if dtype.na_value is pd.NA else "nan"
            items = [None if pd.isna(v) else str(v) for v in array]
            return {TAG: "string", "storage": dtype.storage, "na_value": na_value, "items": items}
        raise self._unsupported(array, path, f"pandas dtype {dtype}")

    def _encode_index(self, index: pd.Index, path: str) -> dict[str, Any]:
        kind = type(index)
        if kind is pd.RangeIndex:
            return {
                TAG: "range_index",
                "start": int(index.start),
                "stop": int(index.stop),
                "step": int(index.step),
                "name": self.encode(index.name, f"{path}.name"),
            }
        if kind is pd.MultiIndex:
            return {
                TAG: "multi_index",
                "levels": [
                    self._encode_index(level, f"{path}.levels[{i}]")
                    for i, level in enumerate(index.levels)
                ],
                "codes": [self.array_ref(np.asarray(c)) for c in index.codes],
                "names": [self.encode(n, f"{path}.names[{i}]") for i, n in enumerate(index.names)],
            }
        if kind not in (pd.Index, pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex):
            raise self._unsupported(index, path)
        freq = getattr(index, "freqstr", None)
        return {
            TAG: "index",
            "values": self._encode_values(index.array, f"{path}.values"),
            "name": self.encode(index.name, f"{path}.name"),
            "freq": freq,
        }

    def _encode_frame(self, frame: pd.DataFrame, path: str) -> dict[str, Any]:
        node = {
            TAG: "dataframe",
            "columns": self._encode_index(frame.columns, f"{path}.columns"),
            "data": [
                self._encode_values(frame.iloc[:, i].array, f"{path}[{label!r}]")
                for i, label in enumerate(frame.columns)
            ],
            "index": self._encode_index(frame.index, f"{path}.index"),
        }
        if frame.attrs:
            node["attrs"] = self.encode(frame.attrs, f"{path}.attrs")
        return node

    # -- classes ------------------------------------------------------------------------------
    def _encode_attrs(self, value: Any, path: str) -> dict[str, Any]:
        cls = type(value)
        if not is_b2bclient_module(cls.__module__) or "<locals>" in cls.__qualname__:
            raise self._unsupported(value, path, "only attrs classes of b2bclient are stored")
        return {
            TAG: "attrs",
            "class": class_name(cls),
            "fields": {
                f.name: self.encode(getattr(value, f.name), f"{path}.{f.name}")
                for f in attrs.fields(cls)
            },
        }

    def encode_estimator(self, value: Any, path: str) -> dict[str, Any]:
        """Encode an estimator: its class, ``get_params()`` and fitted state."""
        from sklearn.base import BaseEstimator

        cls = type(value)
        if not isinstance(value, BaseEstimator) or "<locals>" in cls.__qualname__:
            raise FormatError(
                f"Cannot save {self.owner}: {path} is a {class_name(cls)}, which is not an "
                "estimator defined at module level in b2bclient or scikit-learn (a subclass of "
                "sklearn.base.BaseEstimator). Only those can be saved and loaded safely."
            )
        params = value.get_params(deep=False)
        encoded_params = {k: self.encode(v, f"{path}.{k}") for k, v in params.items()}
        protocol = protocol_of(cls)
        has_get_hook = getattr(cls, "_b2b_get_state", None) is not None
        if protocol != "sklearn" and has_get_hook != (protocol == "hooks"):
            raise FormatError(
                f"Cannot save {self.owner}: {class_name(cls)} defines only one of "
                "_b2b_get_state and _b2b_set_state; define both so that the state it "
                "saves can be restored."
            )
        if protocol == "hooks":
            state = value._b2b_get_state()
            if type(state) is not dict or not all(type(k) is str for k in state):
                raise FormatError(
                    f"Cannot save {self.owner}: {class_name(cls)}._b2b_get_state must "
                    f"return a dict with str keys. Got a {type_text(state)} instead."
                )
        elif protocol == "attributes":
            state = {
                k: v for k, v in vars(value).items() if k.endswith("_") and not k.startswith("_")
            }
        else:
            # scikit-learn's own pickling state: private attributes such as ``_loss`` are part
            # of what its predict methods need.
            state = {
                k: v
                for k, v in value.__getstate__().items()
                if not (k in params and v is params[k])
            }
        return {
            TAG: "estimator",
            "class": class_name(cls),
            "protocol": protocol,
            "params": encoded_params,
            "state": {k: self.encode(v, f"{path}.{k}") for k, v in state.items()},
        }

    def encode_top(self, value: Any, path: str) -> dict[str, Any]:
        """Encode the object handed to ``save``: an estimator or an attrs record."""
        if attrs.has(type(value)):
            return self._encode_attrs(value, path)
        return self.encode_estimator(value, path)


_ENCODERS: dict[str, Callable[[Encoder, Any, str], dict[str, Any] | None]] = {
    "sklearn_tree": _sklearn.encode_tree,
    "sklearn_loss": _sklearn.encode_loss,
    "sklearn_hist_predictor": _sklearn.encode_hist_predictor,
}
