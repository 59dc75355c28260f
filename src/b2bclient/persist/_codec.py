"""Translation between Python objects and a JSON tree whose array leaves are ``.npy`` files.

Every JSON object in the tree is a tagged node ``{"__b2b__": kind, ...}``; JSON arrays are Python
lists, and JSON scalars are ``None``, ``bool``, ``int``, finite ``float`` and ``str``. Arrays of a
non-object dtype are never written into the JSON: the encoder collects them and the node refers to
a file by name. Decoding only ever builds values of the supported types and instantiates classes
accepted by :func:`b2bclient.persist._classes.resolve_class`; nothing else from a file is called.
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import FormatError
from b2bclient.persist._classes import (
    class_name,
    is_allowed_module,
    is_b2bclient_module,
    resolve_class,
)

__all__ = ["TAG", "Decoder", "Encoder", "array_file_name"]

TAG = "__b2b__"

_SUPPORTED = (
    "None, bool, int, float, str, list, tuple, set, dict, numpy arrays of non-object dtypes "
    "(object arrays of supported values), numpy scalars, pandas Series/DataFrame/Index, "
    "Timestamp/Timedelta, numpy random states, attrs records and enums of b2bclient, and "
    "b2bclient or scikit-learn estimators"
)

_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
_BUILTIN_TYPES: dict[str, type] = {
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "complex": complex,
    "bytes": bytes,
    "object": object,
}
_MASKED_DTYPES = {
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
_LOSS_KWARGS = ("n_classes", "quantile", "power", "delta")


def array_file_name(index: int) -> str:
    """Return the archive member name of the `index`-th array file."""
    return f"arrays/{index:06d}.npy"


def _dtype_descr(dtype: np.dtype[Any]) -> Any:
    """Describe `dtype` as JSON (the ``.npy`` header's description, lists instead of tuples)."""
    descr = np.lib.format.dtype_to_descr(dtype)
    return _tuples_to_lists(descr)


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(v) for v in value]
    return value


def _index_text(shape: tuple[int, ...], flat: int) -> str:
    if len(shape) == 1:
        return f"[{flat}]"
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _type_text(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


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
            f"Cannot save {self.owner}: {path} holds a {_type_text(value)}{extra}, which "
            f"b2bclient.save cannot store without pickle. Supported values are {_SUPPORTED}. "
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
        if kind is np.random.RandomState:
            return {
                TAG: "random_state",
                "state": self.encode(value.get_state(legacy=False), f"{path}.state"),
            }
        if kind is np.random.Generator:
            bit_generator = value.bit_generator
            name = type(bit_generator).__name__
            if name not in _BIT_GENERATORS or type(bit_generator) is not getattr(np.random, name):
                raise self._unsupported(value, path, f"bit generator {name}")
            return {
                TAG: "generator",
                "bit_generator": name,
                "state": self.encode(bit_generator.state, f"{path}.state"),
            }
        if kind is np.dtype or isinstance(value, np.dtype):
            if value.hasobject and value.fields is not None:
                raise self._unsupported(value, path, "structured dtype with object fields")
            return {TAG: "dtype", "descr": _dtype_descr(value)}
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
        if kind.__module__ == "sklearn.tree._tree" and kind.__name__ == "Tree":
            return self._encode_tree(value, path)
        if kind.__module__ == "sklearn._loss.loss":
            return self._encode_loss(value, path)
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

    def _array_ref(self, array: np.ndarray[Any, Any]) -> dict[str, Any]:
        name = array_file_name(len(self.arrays))
        self.arrays.append(array)
        return {
            TAG: "ndarray",
            "file": name,
            "dtype": _dtype_descr(array.dtype),
            "shape": list(array.shape),
        }

    def _encode_ndarray(self, value: np.ndarray[Any, Any], path: str) -> dict[str, Any]:
        if not value.dtype.hasobject:
            return self._array_ref(value)
        if value.dtype != np.dtype(object):
            raise self._unsupported(value, path, "structured dtype with object fields")
        flat = value.reshape(-1, order="C")
        return {
            TAG: "object_array",
            "shape": list(value.shape),
            "items": [
                self.encode(item, f"{path}{_index_text(value.shape, i)}")
                for i, item in enumerate(flat)
            ],
        }

    def _encode_numpy_scalar(self, value: np.generic, path: str) -> dict[str, Any]:
        dtype = value.dtype
        if dtype.hasobject or dtype.fields is not None or dtype.kind == "V":
            raise self._unsupported(value, path, "object or structured numpy scalar")
        return {TAG: "scalar", "dtype": _dtype_descr(dtype), "hex": value.tobytes().hex()}

    def _encode_type(self, value: type, path: str) -> dict[str, Any]:
        if _BUILTIN_TYPES.get(value.__name__) is value:
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
            tz = _tz_name(value.tz)
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
                "codes": self._array_ref(np.asarray(array.codes)),
            }
        if isinstance(dtype, pd.DatetimeTZDtype):
            tz = _tz_name(dtype.tz)
            if tz is None:
                raise self._unsupported(array, path, f"time zone {dtype.tz!r} has no IANA name")
            utc = pd.DatetimeIndex(array).tz_convert("UTC").tz_localize(None)
            return {TAG: "datetime_tz", "tz": tz, "values": self._array_ref(utc.to_numpy())}
        if str(dtype) in _MASKED_DTYPES and type(array).__name__ == _MASKED_DTYPES[str(dtype)]:
            return {
                TAG: "masked",
                "dtype": str(dtype),
                "data": self._array_ref(np.asarray(array._data)),
                "mask": self._array_ref(np.asarray(array._mask)),
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
                "codes": [self._array_ref(np.asarray(c)) for c in index.codes],
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
        protocol = _protocol_of(cls)
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
                    f"return a dict with str keys. Got a {_type_text(state)} instead."
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

    def _encode_tree(self, value: Any, path: str) -> dict[str, Any]:
        _, args, state = value.__reduce__()
        n_features, n_classes, n_outputs = args
        return {
            TAG: "sklearn_tree",
            "n_features": int(n_features),
            "n_classes": self._array_ref(np.asarray(n_classes)),
            "n_outputs": int(n_outputs),
            "state": self.encode(dict(state), f"{path}.state"),
        }

    def _encode_loss(self, value: Any, path: str) -> dict[str, Any]:
        from sklearn._loss.loss import BaseLoss

        cls = type(value)
        if not isinstance(value, BaseLoss) or getattr(value, "xp", None) is not None:
            raise self._unsupported(value, path, "only numpy-based scikit-learn losses")
        import inspect

        accepted = inspect.signature(cls.__init__).parameters
        kwargs: dict[str, Any] = {}
        for name in _LOSS_KWARGS:
            if name not in accepted:
                continue
            if name == "n_classes":
                kwargs[name] = value.n_classes
            elif hasattr(value, name):
                kwargs[name] = getattr(value, name)
            else:
                kwargs[name] = getattr(value.closs, name)
        if "delta" in kwargs:
            kwargs["delta"] = float(value.closs.delta)
        return {
            TAG: "sklearn_loss",
            "class": class_name(cls),
            "kwargs": {k: self.encode(v, f"{path}.{k}") for k, v in kwargs.items()},
            "approx_hessian": bool(value.approx_hessian),
            "constant_hessian": bool(value.constant_hessian),
        }


def _tz_name(tz: Any) -> str | None:
    """Return a time zone name that parses back to the same zone, or ``None``."""
    name = str(tz)
    try:
        back = pd.Timestamp(0, tz=name).tz
    except (ValueError, TypeError, KeyError, LookupError):
        return None
    if str(back) != name:
        return None
    return name


# ---------------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------------


class Decoder:
    """Decode a JSON tree written by :class:`Encoder`.

    Parameters
    ----------
    read_array : callable
        ``read_array(name, where)`` returns the verified array stored in the file `name`.
    source : str
        Where the tree comes from, used in error messages.
    """

    def __init__(self, read_array: Callable[[str, str], np.ndarray[Any, Any]], source: str) -> None:
        self._read_array = read_array
        self.source = source

    def malformed(self, where: str, what: str) -> FormatError:
        """Build the error for a node that does not have the shape the format prescribes."""
        return FormatError(
            f"The saved model {self.source} is malformed at {where}: {what}. The file is "
            "damaged, was edited by hand, or was not written by b2bclient."
        )

    def _field(self, node: dict[str, Any], key: str, kind: type, where: str) -> Any:
        if key not in node:
            raise self.malformed(where, f"the key {key!r} is missing")
        value = node[key]
        if type(value) is not kind:
            raise self.malformed(
                where, f"{key!r} must be a {kind.__name__}, not a {type(value).__name__}"
            )
        return value

    def decode(self, node: Any, where: str) -> Any:
        """Decode `node` found at `where`."""
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if type(node) is not dict:
            raise self.malformed(where, f"unexpected {type(node).__name__}")
        tag = node.get(TAG)
        handler = self._HANDLERS.get(tag) if isinstance(tag, str) else None
        if handler is None:
            raise self.malformed(where, f"unknown node kind {tag!r}")
        try:
            return handler(self, node, where)
        except FormatError:
            raise
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            LookupError,
        ) as exc:
            raise self.malformed(where, f"{type(exc).__name__}: {exc}") from exc

    # -- scalars and containers ---------------------------------------------------------------
    def _float(self, node: dict[str, Any], where: str) -> float:
        bits = self._field(node, "bits", str, where)
        raw = bytes.fromhex(bits)
        if len(raw) != 8:
            raise self.malformed(where, "a float needs 8 bytes")
        value: float = struct.unpack(">d", raw)[0]
        return value

    def _tuple(self, node: dict[str, Any], where: str) -> tuple[Any, ...]:
        items = self._field(node, "items", list, where)
        return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(items))

    def _set(self, node: dict[str, Any], where: str) -> set[Any] | frozenset[Any]:
        items = self._field(node, "items", list, where)
        values = [self.decode(v, f"{where}{{}}") for v in items]
        return frozenset(values) if node[TAG] == "frozenset" else set(values)

    def _dict(self, node: dict[str, Any], where: str) -> dict[Any, Any]:
        if "items" in node:
            items = self._field(node, "items", dict, where)
            return {k: self.decode(v, f"{where}[{k!r}]") for k, v in items.items()}
        pairs = self._field(node, "pairs", list, where)
        out: dict[Any, Any] = {}
        for i, pair in enumerate(pairs):
            if type(pair) is not list or len(pair) != 2:
                raise self.malformed(where, "a dict entry must be a [key, value] pair")
            out[self.decode(pair[0], f"{where} key {i}")] = self.decode(pair[1], f"{where}[{i}]")
        return out

    def _shape(self, node: dict[str, Any], where: str) -> tuple[int, ...]:
        shape = self._field(node, "shape", list, where)
        if not all(type(s) is int and s >= 0 for s in shape):
            raise self.malformed(where, "a shape must be a list of non-negative integers")
        return tuple(shape)

    def _ndarray(self, node: dict[str, Any], where: str) -> np.ndarray[Any, Any]:
        name = self._field(node, "file", str, where)
        array = self._read_array(name, where)
        if _dtype_descr(array.dtype) != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise self.malformed(
                where,
                f"the array in {name} has dtype {array.dtype} and shape {array.shape}, which "
                "differ from the manifest",
            )
        return array

    def _object_array(self, node: dict[str, Any], where: str) -> np.ndarray[Any, Any]:
        shape = self._shape(node, where)
        items = self._field(node, "items", list, where)
        if len(items) != math.prod(shape):
            raise self.malformed(where, f"{len(items)} items do not fill the shape {shape}")
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            out[i] = self.decode(item, f"{where}{_index_text(shape, i)}")
        return out.reshape(shape)

    def _dtype(self, node: dict[str, Any], where: str) -> np.dtype[Any]:
        return _parse_dtype(node.get("descr"))

    def _scalar(self, node: dict[str, Any], where: str) -> np.generic:
        dtype = _parse_dtype(node.get("dtype"))
        if dtype.hasobject or dtype.fields is not None or dtype.kind == "V":
            raise self.malformed(where, f"numpy scalars of dtype {dtype} are not stored")
        raw = bytes.fromhex(self._field(node, "hex", str, where))
        if len(raw) != dtype.itemsize:
            raise self.malformed(where, f"{len(raw)} bytes do not make one {dtype} value")
        value: np.generic = np.frombuffer(raw, dtype=dtype)[0]
        return value

    def _type(self, node: dict[str, Any], where: str) -> type:
        name = self._field(node, "name", str, where)
        module, _, attr = name.partition(".")
        if module == "builtins" and attr in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[attr]
        if module == "numpy":
            value = getattr(np, attr, None)
            if isinstance(value, type) and issubclass(value, np.generic):
                return value
        raise self.malformed(where, f"{name!r} is not a builtin or numpy scalar type")

    def _nat(self, node: dict[str, Any], where: str) -> Any:
        return pd.NaT

    def _na(self, node: dict[str, Any], where: str) -> Any:
        return pd.NA

    def _timestamp(self, node: dict[str, Any], where: str) -> pd.Timestamp:
        unit = self._unit(node, where)
        value = self._field(node, "value", int, where)
        ts = pd.Timestamp(np.array([value], dtype=np.int64).view(f"M8[{unit}]")[0])
        tz = node.get("tz")
        if tz is not None:
            if not isinstance(tz, str):
                raise self.malformed(where, "a time zone must be a string")
            ts = ts.tz_localize("UTC").tz_convert(tz)
        return ts

    def _timedelta(self, node: dict[str, Any], where: str) -> pd.Timedelta:
        unit = self._unit(node, where)
        value = self._field(node, "value", int, where)
        return pd.Timedelta(np.array([value], dtype=np.int64).view(f"m8[{unit}]")[0])

    def _unit(self, node: dict[str, Any], where: str) -> str:
        unit: str = self._field(node, "unit", str, where)
        if unit not in ("s", "ms", "us", "ns"):
            raise self.malformed(where, f"unknown time unit {unit!r}")
        return unit

    def _random_state(self, node: dict[str, Any], where: str) -> np.random.RandomState:
        state = self.decode(node.get("state"), f"{where}.state")
        if type(state) is not dict or state.get("bit_generator") != "MT19937":
            raise self.malformed(where, "a RandomState needs an MT19937 state")
        rs = np.random.RandomState()
        rs.set_state(state)
        return rs

    def _generator(self, node: dict[str, Any], where: str) -> np.random.Generator:
        name = self._field(node, "bit_generator", str, where)
        if name not in _BIT_GENERATORS:
            raise self.malformed(where, f"unknown bit generator {name!r}")
        state = self.decode(node.get("state"), f"{where}.state")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = state
        return np.random.Generator(bit_generator)

    # -- pandas -------------------------------------------------------------------------------
    def _values(self, node: Any, where: str) -> Any:
        """Decode the values of a Series, Index or frame column."""
        if type(node) is not dict:
            raise self.malformed(where, "column values must be a node")
        tag = node.get(TAG)
        if tag in ("ndarray", "object_array"):
            array = self.decode(node, where)
            if array.ndim != 1:
                raise self.malformed(where, "column values must be one-dimensional")
            return array
        if tag == "categorical":
            categories = self._index(node.get("categories"), f"{where}.categories")
            codes = self._ndarray(self._field(node, "codes", dict, where), f"{where}.codes")
            ordered = self._field(node, "ordered", bool, where)
            dtype = pd.CategoricalDtype(categories, ordered=ordered)
            return pd.Categorical.from_codes(codes, dtype=dtype)
        if tag == "datetime_tz":
            tz = self._field(node, "tz", str, where)
            values = self._ndarray(self._field(node, "values", dict, where), f"{where}.values")
            if values.dtype.kind != "M":
                raise self.malformed(where, "time zone aware values must be datetime64")
            return pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(tz).array
        if tag == "masked":
            dtype = self._field(node, "dtype", str, where)
            if dtype not in _MASKED_DTYPES:
                raise self.malformed(where, f"unknown nullable dtype {dtype!r}")
            data = self._ndarray(self._field(node, "data", dict, where), f"{where}.data")
            mask = self._ndarray(self._field(node, "mask", dict, where), f"{where}.mask")
            array = getattr(pd.arrays, _MASKED_DTYPES[dtype])(data, mask)
            if str(array.dtype) != dtype:
                raise self.malformed(where, f"the data do not make a {dtype} array")
            return array
        if tag == "string":
            storage = self._field(node, "storage", str, where)
            na_value = self._field(node, "na_value", str, where)
            if storage not in ("python", "pyarrow") or na_value not in ("NA", "nan"):
                raise self.malformed(where, "unknown string storage")
            items = self._field(node, "items", list, where)
            if not all(v is None or type(v) is str for v in items):
                raise self.malformed(where, "string values must be strings or null")
            dtype = pd.StringDtype(storage, na_value=pd.NA if na_value == "NA" else np.nan)
            try:
                return pd.array(items, dtype=dtype)
            except ImportError as exc:
                raise FormatError(
                    f"The saved model {self.source} holds strings stored with pyarrow at "
                    f"{where}; install pyarrow (pip install 'b2bclient[parquet]') to load it."
                ) from exc
        raise self.malformed(where, f"unknown column kind {tag!r}")

    def _index(self, node: Any, where: str) -> pd.Index:
        if type(node) is not dict:
            raise self.malformed(where, "an index must be a node")
        tag = node.get(TAG)
        name_where = f"{where}.name"
        if tag == "range_index":
            start = self._field(node, "start", int, where)
            stop = self._field(node, "stop", int, where)
            step = self._field(node, "step", int, where)
            return pd.RangeIndex(start, stop, step, name=self.decode(node.get("name"), name_where))
        if tag == "multi_index":
            levels = [
                self._index(lv, f"{where}.levels[{i}]")
                for i, lv in enumerate(self._field(node, "levels", list, where))
            ]
            codes = [
                self._ndarray(c if type(c) is dict else {}, f"{where}.codes[{i}]")
                for i, c in enumerate(self._field(node, "codes", list, where))
            ]
            names = self.decode(self._field(node, "names", list, where), f"{where}.names")
            return pd.MultiIndex(levels=levels, codes=codes, names=names, verify_integrity=True)
        if tag == "index":
            values = self._values(node.get("values"), f"{where}.values")
            name = self.decode(node.get("name"), name_where)
            freq = node.get("freq")
            if isinstance(values, pd.Categorical):
                return pd.CategoricalIndex(values, name=name)
            index = pd.Index(values, dtype=values.dtype, name=name, copy=False)
            if freq is not None:
                if not isinstance(freq, str):
                    raise self.malformed(where, "a frequency must be a string")
                if isinstance(index, pd.DatetimeIndex):
                    index = pd.DatetimeIndex(index, freq=freq, name=name)
                elif isinstance(index, pd.TimedeltaIndex):
                    index = pd.TimedeltaIndex(index, freq=freq, name=name)
                else:
                    raise self.malformed(where, "only time indexes have a frequency")
            return index
        raise self.malformed(where, f"unknown index kind {tag!r}")

    def _series(self, node: dict[str, Any], where: str) -> pd.Series:
        values = self._values(node.get("values"), f"{where}.values")
        index = self._index(node.get("index"), f"{where}.index")
        name = self.decode(node.get("name"), f"{where}.name")
        if len(index) != len(values):
            raise self.malformed(where, "the index and the values differ in length")
        series = pd.Series(values, index=index, name=name, dtype=values.dtype, copy=False)
        if "attrs" in node:
            series.attrs = self.decode(node["attrs"], f"{where}.attrs")
        return series

    def _frame(self, node: dict[str, Any], where: str) -> pd.DataFrame:
        columns = self._index(node.get("columns"), f"{where}.columns")
        index = self._index(node.get("index"), f"{where}.index")
        data = self._field(node, "data", list, where)
        if len(data) != len(columns):
            raise self.malformed(where, "the columns and the data differ in number")
        arrays = [self._values(d, f"{where}[{i}]") for i, d in enumerate(data)]
        if any(len(a) != len(index) for a in arrays):
            raise self.malformed(where, "a column differs in length from the index")
        frame = pd.DataFrame(dict(enumerate(arrays)), index=index, copy=False)
        frame.columns = columns
        if "attrs" in node:
            frame.attrs = self.decode(node["attrs"], f"{where}.attrs")
        return frame

    # -- classes ------------------------------------------------------------------------------
    def _enum(self, node: dict[str, Any], where: str) -> enum.Enum:
        cls = resolve_class(node.get("class"), kind="enum", where=where)
        member: enum.Enum = cls(self.decode(node.get("value"), f"{where}.value"))
        return member

    def _attrs(self, node: dict[str, Any], where: str) -> Any:
        cls = resolve_class(node.get("class"), kind="attrs", where=where)
        fields = self._field(node, "fields", dict, where)
        declared = attrs.fields(cls)
        if set(fields) != {f.name for f in declared}:
            raise FormatError(
                f"The saved {cls.__qualname__} at {where} in {self.source} has the fields "
                f"{sorted(fields)}, but this version of the class has "
                f"{sorted(f.name for f in declared)}. Load it with the b2bclient version that "
                "wrote it."
            )
        values = {f.name: self.decode(fields[f.name], f"{where}.{f.name}") for f in declared}
        kwargs = {f.alias: values[f.name] for f in declared if f.init}
        obj = cls(**kwargs)
        for f in declared:
            if not f.init:
                object.__setattr__(obj, f.name, values[f.name])
        return obj

    def decode_estimator(self, node: dict[str, Any], where: str) -> Any:
        """Instantiate an estimator with its parameters and restore its fitted state."""
        cls = resolve_class(node.get("class"), kind="estimator", where=where)
        protocol = self._field(node, "protocol", str, where)
        expected = _protocol_of(cls)
        if protocol != expected:
            raise FormatError(
                f"The saved {cls.__qualname__} at {where} in {self.source} stores its state as "
                f"{protocol!r}, but this version of the class uses {expected!r}. Load it with "
                "the b2bclient version that wrote it."
            )
        params_node = self._field(node, "params", dict, where)
        known = set(cls._get_param_names())  # type: ignore[attr-defined]
        unknown = sorted(set(params_node) - known)
        if unknown:
            raise FormatError(
                f"The saved {cls.__qualname__} at {where} in {self.source} has parameters "
                f"{unknown} that this version of the class does not accept. Load it with the "
                "version of b2bclient or scikit-learn that wrote it."
            )
        params = {k: self.decode(v, f"{where}.{k}") for k, v in params_node.items()}
        state_node = self._field(node, "state", dict, where)
        state = {k: self.decode(v, f"{where}.{k}") for k, v in state_node.items()}
        for key in state:
            bad = key.startswith("__") or not key.isidentifier()
            if protocol == "attributes":
                bad = bad or key.startswith("_") or not key.endswith("_")
            if bad:
                raise self.malformed(where, f"{key!r} is not a fitted attribute name")
        obj = cls(**params)
        if protocol == "sklearn":
            obj.__setstate__(state)
        elif protocol == "hooks":
            obj._b2b_set_state(state)
        else:
            for key, value in state.items():
                setattr(obj, key, value)
        return obj

    def _tree(self, node: dict[str, Any], where: str) -> Any:
        from sklearn.tree._tree import Tree

        n_features = self._field(node, "n_features", int, where)
        n_outputs = self._field(node, "n_outputs", int, where)
        n_classes = self._ndarray(self._field(node, "n_classes", dict, where), f"{where}.n_classes")
        if n_classes.dtype != np.intp or n_classes.shape != (n_outputs,):
            raise self.malformed(where, "n_classes must hold one integer per output")
        state = self.decode(node.get("state"), f"{where}.state")
        if type(state) is not dict:
            raise self.malformed(where, "a tree state must be a dict")
        self._check_tree_nodes(state, n_features, where)
        tree = Tree(n_features, n_classes, n_outputs)
        tree.__setstate__(state)
        return tree

    def _check_tree_nodes(self, state: dict[str, Any], n_features: int, where: str) -> None:
        """Refuse node arrays that would make scikit-learn's compiled code index out of range.

        scikit-learn appends children after their parent, so a valid tree has every child
        index larger than its parent's, which also rules out cycles.
        """
        nodes = state.get("nodes")
        count = state.get("node_count")
        fields = ("left_child", "right_child", "feature")
        if (
            not isinstance(nodes, np.ndarray)
            or nodes.dtype.names is None
            or not set(fields) <= set(nodes.dtype.names)
            or type(count) is not int
            or nodes.shape != (count,)
        ):
            raise self.malformed(where, "a tree needs a node array of node_count entries")
        left = nodes["left_child"].astype(np.int64)
        right = nodes["right_child"].astype(np.int64)
        feature = nodes["feature"].astype(np.int64)
        position = np.arange(count)
        leaf = left == -1
        inner = ~leaf
        valid = (
            bool(np.all(right[leaf] == -1))
            and bool(np.all((left[inner] > position[inner]) & (left[inner] < count)))
            and bool(np.all((right[inner] > position[inner]) & (right[inner] < count)))
            and bool(np.all((feature[inner] >= 0) & (feature[inner] < n_features)))
        )
        if not valid:
            raise self.malformed(where, "the tree's node links or features are out of range")

    def _loss(self, node: dict[str, Any], where: str) -> Any:
        cls = resolve_class(node.get("class"), kind="sklearn_loss", where=where)
        kwargs_node = self._field(node, "kwargs", dict, where)
        if not set(kwargs_node) <= set(_LOSS_KWARGS):
            raise self.malformed(where, "unknown loss arguments")
        kwargs = {k: self.decode(v, f"{where}.{k}") for k, v in kwargs_node.items()}
        loss = cls(**kwargs)
        loss.approx_hessian = self._field(node, "approx_hessian", bool, where)
        loss.constant_hessian = self._field(node, "constant_hessian", bool, where)
        return loss

    _HANDLERS: ClassVar[dict[str, Callable[[Decoder, dict[str, Any], str], Any]]] = {
        "float": _float,
        "tuple": _tuple,
        "set": _set,
        "frozenset": _set,
        "dict": _dict,
        "ndarray": _ndarray,
        "object_array": _object_array,
        "scalar": _scalar,
        "dtype": _dtype,
        "type": _type,
        "nat": _nat,
        "na": _na,
        "timestamp": _timestamp,
        "timedelta": _timedelta,
        "random_state": _random_state,
        "generator": _generator,
        "index": _index,
        "range_index": _index,
        "multi_index": _index,
        "series": _series,
        "dataframe": _frame,
        "enum": _enum,
        "attrs": _attrs,
        "estimator": decode_estimator,
        "sklearn_tree": _tree,
        "sklearn_loss": _loss,
    }


def _parse_dtype(descr: Any) -> np.dtype[Any]:
    """Turn a JSON dtype description (as written by ``_dtype_descr``) back into a dtype."""
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


def _protocol_of(cls: type) -> str:
    """Return how the fitted state of `cls` is stored: "sklearn", "hooks" or "attributes"."""
    if not is_b2bclient_module(cls.__module__):
        return "sklearn"
    if getattr(cls, "_b2b_set_state", None) is not None:
        return "hooks"
    return "attributes"
