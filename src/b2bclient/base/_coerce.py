"""Coercion of single columns to their canonical dtype; each coercer also returns what failed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base._schema import SCHEMAS, Column

__all__ = ["TYPE_NAMES", "coerce_column", "empty_series", "empty_table"]

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def empty_table(name: str) -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes of table `name`.

    Examples
    --------
    >>> empty_table("deals").dtypes["closed_at"]
    dtype('<M8[ns]')
    """
    schema = SCHEMAS[name]
    return pd.DataFrame({c.name: empty_series(c, 0) for c in schema.columns})


def empty_series(column: Column, n: int) -> pd.Series:
    """Return `n` nulls in the canonical dtype of `column`."""
    if column.kind == "enum":
        assert column.values is not None
        dtype = pd.CategoricalDtype(list(column.values), ordered=column.ordered)
        return pd.Series(pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), dtype=dtype))
    if column.kind in ("id", "str"):
        return pd.Series(np.full(n, None, dtype=object))
    if column.kind == "time":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if column.kind == "float":
        return pd.Series(np.full(n, np.nan))
    mask = np.ones(n, dtype=bool)
    if column.kind == "int":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), mask))
    return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), mask))


# --- coercion of single columns: each returns (coerced, mask of values that failed) -------------


def _as_strings(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    bad = np.zeros(len(s), dtype=bool)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if s.dtype == object:
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in ("string", "empty"):
            out = s
        else:
            notna = s.notna().to_numpy()

            def text(v: Any) -> str:
                if isinstance(v, float) and v.is_integer():
                    return str(int(v))
                return str(v)

            out = s.astype(object).copy()
            out[notna] = s[notna].map(text)
    elif pd.api.types.is_string_dtype(s.dtype):
        out = s.astype(object)
    elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        notna = s.notna().to_numpy()
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        out[notna] = (
            s[notna]
            .astype("int64" if not pd.api.types.is_bool_dtype(s.dtype) else object)
            .astype(str)
        )
    elif pd.api.types.is_float_dtype(s.dtype):
        notna = s.notna().to_numpy()
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        integral = notna & (np.mod(np.nan_to_num(vals), 1) == 0)
        out[integral] = vals[integral].astype(np.int64).astype(str)
        rest = notna & ~integral
        out[rest] = vals[rest].astype(str)
    else:
        notna = s.notna().to_numpy()
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        out[notna] = s[notna].astype(str)
    if out.hasnans:
        out = out.where(out.notna(), None)
    return out, bad


def _as_time(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]"), np.zeros(
            len(s), dtype=bool
        )
    if pd.api.types.is_datetime64_dtype(dtype):
        return s.astype("datetime64[ns]"), np.zeros(len(s), dtype=bool)
    notna = s.notna().to_numpy()
    if not notna.any():
        return pd.Series(np.full(len(s), np.datetime64("NaT"), "datetime64[ns]"), index=s.index), (
            np.zeros(len(s), dtype=bool)
        )
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        out = pd.Series(np.full(len(s), np.datetime64("NaT"), "datetime64[ns]"), index=s.index)
        return out, notna
    values = s.astype(object)
    # Parse naive and offset-carrying strings apart: pandas may otherwise apply one string's
    # offset to its naive neighbours. Naive values are UTC; offsets are converted to UTC.
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    aware = is_text & values.where(is_text, "").str.contains(_OFFSET, regex=True).to_numpy()
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    for mask, utc in ((is_text & ~aware, False), (aware, True)):
        if mask.any():
            out[mask] = _parse_text(values[mask], utc=utc)
    other = notna & ~is_text
    if other.any():
        out[other] = [_parse_one(v) for v in values[other]]
    result = pd.Series(out, index=s.index)
    failed = notna & result.isna().to_numpy()
    return result, failed


_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _parse_text(values: pd.Series, *, utc: bool) -> np.ndarray:
    """Parse ISO 8601 strings (any other format as a fallback) to naive UTC datetime64[ns]."""
    try:
        parsed = pd.to_datetime(values, utc=utc, errors="coerce", format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    failed = parsed.isna().to_numpy()
    if failed.any():
        retry = pd.Series([_parse_one(v) for v in values[failed]], index=values.index[failed])
        parsed = pd.Series(
            np.where(
                failed, retry.reindex(values.index).to_numpy(dtype="datetime64[ns]"), _naive(parsed)
            ),
            index=values.index,
        )
    return _naive(parsed)


def _naive(parsed: pd.Series) -> np.ndarray:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    out: np.ndarray = parsed.to_numpy(dtype="datetime64[ns]")
    return out


def _parse_one(value: Any) -> np.datetime64:
    """Parse one value of any accepted kind to a naive UTC datetime64[ns] (NaT on failure)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return np.datetime64("NaT", "ns")
    if ts is pd.NaT:
        return np.datetime64("NaT", "ns")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    out: np.datetime64 = ts.as_unit("ns").to_datetime64()
    return out


def _as_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_float_dtype(s.dtype) and not isinstance(
        s.dtype, pd.api.extensions.ExtensionDtype
    ):
        return s.astype("float64"), np.zeros(len(s), dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64"), np.zeros(len(s), dtype=bool)
    out = pd.to_numeric(s.astype(object) if s.dtype != object else s, errors="coerce")
    out = out.astype("float64")
    failed = s.notna().to_numpy() & out.isna().to_numpy()
    return out, failed


def _as_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), np.zeros(len(s), dtype=bool)
    out, failed = _as_float(s)
    vals = out.to_numpy()
    fractional = np.isfinite(vals) & (np.mod(np.nan_to_num(vals), 1) != 0)
    infinite = np.isinf(vals)
    failed = failed | fractional | infinite
    clean = np.where(failed | np.isnan(vals), np.nan, vals)
    return pd.Series(clean, index=s.index).astype("Int64"), failed


def _as_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)

    def parse(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None  # marks a failure

    parsed = s.astype(object).map(parse)
    failed = parsed.map(lambda v: v is None).to_numpy(dtype=bool)
    parsed[failed] = pd.NA
    return parsed.astype("boolean"), failed


def _as_enum(s: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    assert column.values is not None
    allowed = list(column.values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = s.cat.remove_unused_categories()
        if set(map(str, used.cat.categories)) <= set(allowed):
            cats = used.cat.rename_categories(lambda c: str(c))
            out = cats.cat.set_categories(allowed, ordered=column.ordered)
            return out, np.zeros(len(s), dtype=bool)
        s = s.astype(object)
    text, _ = _as_strings(s)
    notna = text.notna().to_numpy()
    failed = notna & ~text.isin(allowed).to_numpy()
    values = text.where(~failed, None)
    out = pd.Series(
        pd.Categorical(values, categories=allowed, ordered=column.ordered), index=s.index
    )
    return out, failed


def coerce_column(s: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    if column.kind in ("id", "str"):
        return _as_strings(s)
    if column.kind == "time":
        return _as_time(s)
    if column.kind == "float":
        return _as_float(s)
    if column.kind == "int":
        return _as_int(s)
    if column.kind == "bool":
        return _as_bool(s)
    return _as_enum(s, column)


TYPE_NAMES = {
    "id": "text",
    "str": "text",
    "time": "a point in time",
    "float": "a number",
    "int": "a whole number",
    "bool": "true/false",
}
