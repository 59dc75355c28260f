"""Decoding of the JSON tree and arrays of a saved model back into Python objects (see ``_codec``).

Decoding only ever builds values of the supported types and instantiates classes accepted by
:func:`b2bclient.persist._classes.resolve_class`; nothing else from a file is called.
"""

from __future__ import annotations

import enum
import functools
import math
import struct
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import FormatError
from b2bclient.persist import _sklearn
from b2bclient.persist._classes import resolve_class, resolve_function
from b2bclient.persist._codec import (
    BIT_GENERATORS,
    BUILTIN_TYPES,
    MASKED_DTYPES,
    TAG,
    dtype_descr,
    index_text,
    parse_dtype,
    protocol_of,
)

__all__ = ["Decoder"]


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

    def field(self, node: dict[str, Any], key: str, kind: type, where: str) -> Any:
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
        bits = self.field(node, "bits", str, where)
        raw = bytes.fromhex(bits)
        if len(raw) != 8:
            raise self.malformed(where, "a float needs 8 bytes")
        value: float = struct.unpack(">d", raw)[0]
        return value

    def _tuple(self, node: dict[str, Any], where: str) -> tuple[Any, ...]:
        items = self.field(node, "items", list, where)
        return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(items))

    def _set(self, node: dict[str, Any], where: str) -> set[Any] | frozenset[Any]:
        items = self.field(node, "items", list, where)
        values = [self.decode(v, f"{where}{{}}") for v in items]
        return frozenset(values) if node[TAG] == "frozenset" else set(values)

    def _dict(self, node: dict[str, Any], where: str) -> dict[Any, Any]:
        if "items" in node:
            items = self.field(node, "items", dict, where)
            return {k: self.decode(v, f"{where}[{k!r}]") for k, v in items.items()}
        pairs = self.field(node, "pairs", list, where)
        out: dict[Any, Any] = {}
        for i, pair in enumerate(pairs):
            if type(pair) is not list or len(pair) != 2:
                raise self.malformed(where, "a dict entry must be a [key, value] pair")
            out[self.decode(pair[0], f"{where} key {i}")] = self.decode(pair[1], f"{where}[{i}]")
        return out

    def _shape(self, node: dict[str, Any], where: str) -> tuple[int, ...]:
        shape = self.field(node, "shape", list, where)
        if not all(type(s) is int and s >= 0 for s in shape):
            raise self.malformed(where, "a shape must be a list of non-negative integers")
        return tuple(shape)

    def ndarray(self, node: dict[str, Any], where: str) -> np.ndarray[Any, Any]:
        name = self.field(node, "file", str, where)
        array = self._read_array(name, where)
        if dtype_descr(array.dtype) != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise self.malformed(
                where,
                f"the array in {name} has dtype {array.dtype} and shape {array.shape}, which "
                "differ from the manifest",
            )
        return array

    def _object_array(self, node: dict[str, Any], where: str) -> np.ndarray[Any, Any]:
        shape = self._shape(node, where)
        items = self.field(node, "items", list, where)
        if len(items) != math.prod(shape):
            raise self.malformed(where, f"{len(items)} items do not fill the shape {shape}")
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            out[i] = self.decode(item, f"{where}{index_text(shape, i)}")
        return out.reshape(shape)

    def _dtype(self, node: dict[str, Any], where: str) -> np.dtype[Any]:
        return parse_dtype(node.get("descr"))

    def _scalar(self, node: dict[str, Any], where: str) -> np.generic:
        dtype = parse_dtype(node.get("dtype"))
        if dtype.hasobject or dtype.fields is not None or dtype.kind == "V":
            raise self.malformed(where, f"numpy scalars of dtype {dtype} are not stored")
        raw = bytes.fromhex(self.field(node, "hex", str, where))
        if len(raw) != dtype.itemsize:
            raise self.malformed(where, f"{len(raw)} bytes do not make one {dtype} value")
        value: np.generic = np.frombuffer(raw, dtype=dtype)[0]
        return value

    def _type(self, node: dict[str, Any], where: str) -> type:
        name = self.field(node, "name", str, where)
        module, _, attr = name.partition(".")
        if module == "builtins" and attr in BUILTIN_TYPES:
            return BUILTIN_TYPES[attr]
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
        value = self.field(node, "value", int, where)
        ts = pd.Timestamp(np.array([value], dtype=np.int64).view(f"M8[{unit}]")[0])
        tz = node.get("tz")
        if tz is not None:
            if not isinstance(tz, str):
                raise self.malformed(where, "a time zone must be a string")
            ts = ts.tz_localize("UTC").tz_convert(tz)
        return ts

    def _timedelta(self, node: dict[str, Any], where: str) -> pd.Timedelta:
        unit = self._unit(node, where)
        value = self.field(node, "value", int, where)
        return pd.Timedelta(np.array([value], dtype=np.int64).view(f"m8[{unit}]")[0])

    def _unit(self, node: dict[str, Any], where: str) -> str:
        unit: str = self.field(node, "unit", str, where)
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

    def _slice(self, node: dict[str, Any], where: str) -> slice:
        parts = [self.decode(node.get(k), f"{where}.{k}") for k in ("start", "stop", "step")]
        if not all(p is None or type(p) is int for p in parts):
            raise self.malformed(where, "a slice holds integers or nulls")
        return slice(*parts)

    def _function(self, node: dict[str, Any], where: str) -> Any:
        return resolve_function(node.get("name"), where=where)

    def _partial(self, node: dict[str, Any], where: str) -> functools.partial[Any]:
        func = resolve_function(node.get("function"), where=where)
        args = self.decode(self.field(node, "args", list, where), f"{where}.args")
        keywords = self.decode(node.get("keywords"), f"{where}.keywords")
        if type(keywords) is not dict or not all(type(k) is str for k in keywords):
            raise self.malformed(where, "the keywords of a partial must be a dict of names")
        return functools.partial(func, *args, **keywords)

    def _generator(self, node: dict[str, Any], where: str) -> np.random.Generator:
        name = self.field(node, "bit_generator", str, where)
        if name not in BIT_GENERATORS:
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
            codes = self.ndarray(self.field(node, "codes", dict, where), f"{where}.codes")
            ordered = self.field(node, "ordered", bool, where)
            dtype = pd.CategoricalDtype(categories, ordered=ordered)
            return pd.Categorical.from_codes(codes, dtype=dtype)
        if tag == "datetime_tz":
            tz = self.field(node, "tz", str, where)
            values = self.ndarray(self.field(node, "values", dict, where), f"{where}.values")
            if values.dtype.kind != "M":
                raise self.malformed(where, "time zone aware values must be datetime64")
            return pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(tz).array
        if tag == "masked":
            dtype = self.field(node, "dtype", str, where)
            if dtype not in MASKED_DTYPES:
                raise self.malformed(where, f"unknown nullable dtype {dtype!r}")
            data = self.ndarray(self.field(node, "data", dict, where), f"{where}.data")
            mask = self.ndarray(self.field(node, "mask", dict, where), f"{where}.mask")
            array = getattr(pd.arrays, MASKED_DTYPES[dtype])(data, mask)
            if str(array.dtype) != dtype:
                raise self.malformed(where, f"the data do not make a {dtype} array")
            return array
        if tag == "string":
            storage = self.field(node, "storage", str, where)
            na_value = self.field(node, "na_value", str, where)
            if storage not in ("python", "pyarrow") or na_value not in ("NA", "nan"):
                raise self.malformed(where, "unknown string storage")
            items = self.field(node, "items", list, where)
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
            start = self.field(node, "start", int, where)
            stop = self.field(node, "stop", int, where)
            step = self.field(node, "step", int, where)
            return pd.RangeIndex(start, stop, step, name=self.decode(node.get("name"), name_where))
        if tag == "multi_index":
            levels = [
                self._index(lv, f"{where}.levels[{i}]")
                for i, lv in enumerate(self.field(node, "levels", list, where))
            ]
            codes = [
                self.ndarray(c if type(c) is dict else {}, f"{where}.codes[{i}]")
                for i, c in enumerate(self.field(node, "codes", list, where))
            ]
            names = self.decode(self.field(node, "names", list, where), f"{where}.names")
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
        data = self.field(node, "data", list, where)
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
        fields = self.field(node, "fields", dict, where)
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
        protocol = self.field(node, "protocol", str, where)
        expected = protocol_of(cls)
        if protocol != expected:
            raise FormatError(
                f"The saved {cls.__qualname__} at {where} in {self.source} stores its state as "
                f"{protocol!r}, but this version of the class uses {expected!r}. Load it with "
                "the b2bclient version that wrote it."
            )
        params_node = self.field(node, "params", dict, where)
        known = set(cls._get_param_names())  # type: ignore[attr-defined]
        unknown = sorted(set(params_node) - known)
        if unknown:
            raise FormatError(
                f"The saved {cls.__qualname__} at {where} in {self.source} has parameters "
                f"{unknown} that this version of the class does not accept. Load it with the "
                "version of b2bclient or scikit-learn that wrote it."
            )
        params = {k: self.decode(v, f"{where}.{k}") for k, v in params_node.items()}
        state_node = self.field(node, "state", dict, where)
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
            _sklearn.check_estimator(self, obj, where)
        elif protocol == "hooks":
            obj._b2b_set_state(state)
        else:
            for key, value in state.items():
                setattr(obj, key, value)
        return obj

    _HANDLERS: ClassVar[dict[str, Callable[[Decoder, dict[str, Any], str], Any]]] = {
        "float": _float,
        "tuple": _tuple,
        "set": _set,
        "frozenset": _set,
        "dict": _dict,
        "ndarray": ndarray,
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
        "slice": _slice,
        "function": _function,
        "partial": _partial,
        "index": _index,
        "range_index": _index,
        "multi_index": _index,
        "series": _series,
        "dataframe": _frame,
        "enum": _enum,
        "attrs": _attrs,
        "estimator": decode_estimator,
        "sklearn_tree": _sklearn.decode_tree,
        "sklearn_loss": _sklearn.decode_loss,
        "sklearn_hist_predictor": _sklearn.decode_hist_predictor,
    }
