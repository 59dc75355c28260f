"""Coercion of single columns to their canonical dtype.

Each coercer returns the coerced column, the values that failed (with the check they fail and a
description naming examples) and the values it changed on purpose (ids read as text, enum values
matched ignoring case and spacing, empty strings read as null), which the loaders report.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from b2bclient._time import REASONS, parse_times
from b2bclient.base._schema import SCHEMAS, Column

__all__ = [
    "Change",
    "Coerced",
    "Failure",
    "blank_to_null",
    "coerce_column",
    "empty_series",
    "empty_table",
]

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
#: Float ids are exact whole numbers only up to 2**53.
_EXACT_FLOAT = 2.0**53
_INT64_LIMIT = 2.0**63
_SHOW = 5


class Failure(NamedTuple):
    """Values of a column that failed: the check, a mask of the rows and a description."""

    check: str
    mask: np.ndarray
    description: str


class Change(NamedTuple):
    """Values changed on purpose, reported to the user.

    ``records`` holds ``(row_id, value, repaired_to, rows)``: a line per distinct value changed
    (``row_id`` None) or per row (``rows`` 1).
    """

    check: str
    description: str
    records: list[tuple[Any, Any, Any, int]]


class Coerced(NamedTuple):
    """A column in its canonical dtype, with what failed and what was changed."""

    values: pd.Series
    failures: list[Failure]
    changes: list[Change]


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


def _values(n: int, what: str) -> str:
    """Return "1 value that is <what>" or "n values that are <what>"."""
    return f"{n} value that is {what}" if n == 1 else f"{n} values that are {what}"


def _example(raw: Any) -> str:
    return f"(e.g. {raw!r})"


def _first(s: pd.Series, mask: np.ndarray) -> Any:
    """Return the first value of `s` where `mask` holds, as the Python object the user gave.

    Only that one value is converted: turning a whole column into objects to quote one value
    costs a Python object per row (a ``Timestamp`` per row of a datetime column).
    """
    return s.iloc[[int(np.flatnonzero(mask)[0])]].to_numpy(dtype=object)[0]


def _fail(check: str, mask: np.ndarray, s: pd.Series, what: str) -> Failure:
    n = int(mask.sum())
    return Failure(check, mask, f"{_values(n, what)} {_example(_first(s, mask))}")


def _nulls(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


# --- empty strings ------------------------------------------------------------------------------


def blank_to_null(s: pd.Series) -> tuple[pd.Series, Change | None]:
    """Return `s` with empty strings as null, and the change to report (None without any)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        if "" not in set(map(str, s.cat.categories)):
            return s, None
        s = s.astype(object)
    elif s.dtype != np.dtype(object):
        if not pd.api.types.is_string_dtype(s.dtype):
            return s, None
        s = s.astype(object)
    blank = s.to_numpy() == ""
    n = int(blank.sum())
    if not n:
        return s, None
    out = s.where(~blank, None)
    return out, Change(
        "empty_as_null", f"{n} empty string{'s' * (n != 1)} read as null", [(None, "", None, n)]
    )


# --- text and ids -------------------------------------------------------------------------------


def _as_strings(s: pd.Series) -> Coerced:
    """Return any values as text (a whole float without its '.0'), for descriptive columns."""
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(object)
    if s.dtype == np.dtype(object) and pd.api.types.infer_dtype(s, skipna=True) in (
        "string",
        "empty",
    ):
        out = s
    else:
        notna = s.notna().to_numpy()
        values = np.array(s.to_numpy(dtype=object), dtype=object)

        def text(v: Any) -> str:
            if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
                return str(int(v))
            return str(v)

        out_values = _nulls(len(s))
        out_values[notna] = [text(v) for v in values[notna]]
        out = pd.Series(out_values, index=s.index)
    if out.hasnans:
        out = out.where(out.notna(), None)
    return Coerced(out, [], [])


def _as_ids(s: pd.Series) -> Coerced:
    """Return ids as text. Whole numbers become their decimal text and the change is reported."""
    n = len(s)
    if isinstance(s.dtype, pd.CategoricalDtype) or (
        pd.api.types.is_string_dtype(s.dtype) and s.dtype != np.dtype(object)
    ):
        s = s.astype(object)
    if s.dtype == np.dtype(object) and pd.api.types.infer_dtype(s, skipna=True) in (
        "string",
        "empty",
    ):
        return Coerced(s.where(s.notna(), None) if s.hasnans else s, [], [])
    notna = s.notna().to_numpy()
    out = _nulls(n)
    failed = np.zeros(n, dtype=bool)
    converted = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        failed = notna
    elif pd.api.types.is_integer_dtype(s.dtype):
        out[notna] = s[notna].astype("int64").astype(str).to_numpy(dtype=object)
        converted = notna
    elif pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        ok = notna & _whole_exact(vals)
        out[ok] = vals[ok].astype(np.int64).astype(str).astype(object)
        failed = notna & ~ok
        converted = ok
    else:
        raw = s.to_numpy(dtype=object)
        for i in np.flatnonzero(notna):
            v = raw[i]
            if isinstance(v, str):
                out[i] = v
            elif isinstance(v, (bool, np.bool_, complex, np.complexfloating)):
                failed[i] = True
            elif isinstance(v, (int, np.integer)):
                out[i], converted[i] = str(int(v)), True
            elif isinstance(v, (float, np.floating)):
                if _whole_exact(np.array([float(v)]))[0]:
                    out[i], converted[i] = str(int(v)), True
                else:
                    failed[i] = True
            else:
                out[i], converted[i] = str(v), True
    failures = []
    if failed.any():
        failures.append(
            _fail(
                "type",
                failed,
                s,
                "not an id (ids are text or whole numbers below 2**53; a float such as 1e20 "
                "has lost its digits)",
            )
        )
    changes = []
    if converted.any():
        first = int(np.flatnonzero(converted)[0])
        given = _first(s, converted)
        count = int(converted.sum())
        changes.append(
            Change(
                "id_as_text",
                f"{count} {'id' if count == 1 else 'ids'} read as text (e.g. {given!r} -> "
                f"{out[first]!r}); lookups such as base.organisation() accept either, and "
                f"features are indexed by the text",
                [(None, given, out[first], count)],
            )
        )
    return Coerced(pd.Series(out, index=s.index), failures, changes)


def _whole_exact(vals: np.ndarray) -> np.ndarray:
    """Return the finite whole numbers that a float holds exactly as an id (|v| <= 2**53)."""
    finite = np.isfinite(vals)
    safe = np.where(finite, vals, 0.0)
    result: np.ndarray = finite & (np.mod(safe, 1) == 0) & (np.abs(safe) <= _EXACT_FLOAT)
    return result


# --- numbers ------------------------------------------------------------------------------------


def _as_float(s: pd.Series) -> Coerced:
    """Return finite float64 numbers; text, booleans, complex numbers and infinities fail."""
    n = len(s)
    notna = s.notna().to_numpy()
    failures: list[Failure] = []
    dtype = s.dtype
    not_number = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        vals = np.full(n, np.nan)
        not_number = notna
    elif pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        obj = s.astype(object) if dtype != np.dtype(object) else s
        kind = pd.api.types.infer_dtype(obj, skipna=True)
        odd = np.zeros(n, dtype=bool)
        if kind not in ("string", "floating", "integer", "empty", "decimal", "mixed-integer-float"):
            odd = notna & np.fromiter(
                (
                    isinstance(v, (bool, np.bool_, complex, np.complexfloating))
                    for v in obj.to_numpy(dtype=object)
                ),
                dtype=bool,
                count=n,
            )
        cleaned = obj.where(~odd, None) if odd.any() else obj
        with np.errstate(all="ignore"):
            numeric = pd.to_numeric(cleaned, errors="coerce")
        vals = (
            np.asarray(numeric, dtype=np.float64)
            if numeric.dtype.kind != "c"
            else np.real(numeric.to_numpy()).astype(np.float64)
        )
        not_number = (notna & np.isnan(vals)) | odd
        vals = np.where(odd, np.nan, vals)
    if not_number.any():
        failures.append(_fail("type", not_number, s, "not a number"))
    infinite = np.isinf(vals)
    if infinite.any():
        failures.append(_fail("range", infinite, s, "infinite"))
        vals = np.where(infinite, np.nan, vals)
    return Coerced(pd.Series(vals, index=s.index), failures, [])


def _as_int(s: pd.Series) -> Coerced:
    """Return whole numbers as nullable Int64; fractions and values beyond int64 fail."""
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        try:
            return Coerced(s.astype("Int64"), [], [])
        except (TypeError, OverflowError, ValueError):
            s = s.astype(object)  # uint64 beyond int64: check value by value below
    coerced = _as_float(s)
    vals = coerced.values.to_numpy()
    failures = list(coerced.failures)
    finite = np.isfinite(vals)
    safe = np.where(finite, vals, 0.0)
    fraction = finite & (np.mod(safe, 1) != 0)
    if fraction.any():
        failures.append(_fail("type", fraction, s, "not a whole number"))
    huge = finite & ~fraction & (np.abs(safe) >= _INT64_LIMIT)
    if huge.any():
        failures.append(_fail("range", huge, s, "too large for a 64-bit integer"))
    clean = np.where(fraction | huge | ~finite, np.nan, vals)
    return Coerced(pd.Series(clean, index=s.index).astype("Int64"), failures, [])


def _as_bool(s: pd.Series) -> Coerced:
    if pd.api.types.is_bool_dtype(s.dtype):
        return Coerced(s.astype("boolean"), [], [])

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
    failures = []
    if failed.any():
        failures.append(_fail("type", failed, s, "not true/false"))
    return Coerced(parsed.astype("boolean"), failures, [])


# --- enumerations -------------------------------------------------------------------------------


def _spelling(value: Any) -> str:
    """Return `value` lower-cased, with runs of spaces, hyphens and underscores as one '_'."""
    return re.sub(r"[\s\-_]+", "_", str(value).strip().lower())


def _as_enum(s: pd.Series, column: Column) -> Coerced:
    """Return a categorical of the allowed values; other spellings of one are matched and reported."""
    assert column.values is not None
    allowed = list(column.values)
    dtype = pd.CategoricalDtype(allowed, ordered=column.ordered)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        uniques = list(s.cat.categories)
        if set(map(str, uniques)) <= set(allowed) and all(isinstance(u, str) for u in uniques):
            out = s.cat.set_categories(allowed, ordered=column.ordered)
            return Coerced(out, [], [])
    else:
        codes, unique_index = pd.factorize(s.astype(object) if s.dtype != np.dtype(object) else s)
        uniques = list(unique_index)
    position = {v: i for i, v in enumerate(allowed)}
    by_spelling = {_spelling(v): i for i, v in enumerate(allowed)}
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last slot is for nulls
    respelled: list[int] = []
    unknown: list[int] = []
    for k, value in enumerate(uniques):
        text = value if isinstance(value, str) else str(value)
        if isinstance(value, str) and text in position:
            lookup[k] = position[text]
        elif _spelling(text) in by_spelling:
            lookup[k] = by_spelling[_spelling(text)]
            respelled.append(k)
        else:
            unknown.append(k)
    codes = np.asarray(codes, dtype=np.int64)
    mapped = lookup[np.where(codes >= 0, codes, len(uniques))]
    out = pd.Series(pd.Categorical.from_codes(mapped, dtype=dtype), index=s.index)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    failures = []
    if unknown:
        bad = np.isin(codes, unknown)
        shown = sorted({str(uniques[k]) for k in unknown})[:_SHOW]
        failures.append(
            Failure(
                "enum",
                bad,
                f"{int(bad.sum())} unknown value{'s' * (int(bad.sum()) != 1)} {shown}; allowed: "
                f"{', '.join(allowed)}",
            )
        )
    changes = []
    if respelled:
        records = [(None, uniques[k], allowed[lookup[k]], int(counts[k])) for k in respelled]
        pairs = ", ".join(
            f"{v!r} -> {t!r} ({rows} row{'s' * (rows != 1)})" for _, v, t, rows in records[:_SHOW]
        )
        more = f" and {len(records) - _SHOW} more" if len(records) > _SHOW else ""
        total = sum(r[3] for r in records)
        changes.append(
            Change(
                "enum_spelling",
                f"{total} value{'s' * (total != 1)} matched ignoring case and spacing: "
                f"{pairs}{more}",
                records,
            )
        )
    return Coerced(out, failures, changes)


# --- times --------------------------------------------------------------------------------------

_TIME_WHAT = {
    "type": "not a point in time",
    "ambiguous_date": "a date whose day and month order is ambiguous",
    "time_zone": "a time with a zone name or abbreviation rather than a UTC offset",
    "relative_time": "a relative time that would read the clock at load time",
    "incomplete_date": "a date without a year, a month or a day",
    "time_range": "outside 1677-09-21 .. 2262-04-11, the range of datetime64[ns]",
}
_TIME_HINT = {
    "time_zone": "give an offset such as '-05:00' ('UTC', 'GMT' and 'Z' are fine)",
}


def _as_time(s: pd.Series, date_format: str | None, dayfirst: bool | None) -> Coerced:
    parsed = parse_times(s, date_format=date_format, dayfirst=dayfirst)
    out = pd.Series(parsed.values, index=s.index)
    failures = []
    for code in np.unique(parsed.reasons[parsed.reasons > 0]):
        reason = REASONS[int(code)]
        mask = parsed.reasons == code
        n = int(mask.sum())
        what = _TIME_WHAT[reason]
        if n != 1:
            what = (
                what.replace("a date", "dates")
                .replace("a time", "times")
                .replace("a relative time", "relative times")
            )
        description = f"{_values(n, what)} {_example(_first(s, mask))}"
        hint = parsed.hints.get(reason) or _TIME_HINT.get(reason)
        if hint:
            description = f"{description}; {hint}"
        failures.append(Failure(reason, mask, description))
    return Coerced(out, failures, [])


def coerce_column(
    s: pd.Series,
    column: Column,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> Coerced:
    """Coerce `s` to the canonical dtype of `column`.

    Examples
    --------
    >>> from b2bclient.base import SCHEMAS
    >>> coerced = coerce_column(pd.Series([1001, 1002]), SCHEMAS["organisations"].column("organisation_id"))
    >>> coerced.values.tolist(), coerced.changes[0].check
    (['1001', '1002'], 'id_as_text')
    """
    if column.kind == "id":
        return _as_ids(s)
    if column.kind == "str":
        return _as_strings(s)
    if column.kind == "time":
        return _as_time(s, date_format, dayfirst)
    if column.kind == "float":
        return _as_float(s)
    if column.kind == "int":
        return _as_int(s)
    if column.kind == "bool":
        return _as_bool(s)
    return _as_enum(s, column)
