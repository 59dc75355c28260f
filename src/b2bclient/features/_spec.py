"""Shared machinery of the built-in extractors: column specs, windows and the common methods."""

from __future__ import annotations

import abc
import datetime
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient._typing import Tables
from b2bclient.features._context import FeatureTables
from b2bclient.features._protocol import ExtractorTags

__all__ = ["FeatureSpec", "SpecExtractor", "duration_field", "window_suffix", "windows_field"]


@attrs.frozen
class FeatureSpec:
    """One output column of a built-in extractor.

    Parameters
    ----------
    column : str
        Full column name, ``<extractor>__<feature>``.
    description : str
        One sentence saying what the value is, including its value when there is no activity.
    rollup : {"sum", "max", "min", "mean", "first"}
        How the column aggregates to the group.
    dtype : {"float64", "category"}
        Column dtype.
    """

    column: str
    description: str
    rollup: str = "sum"
    dtype: str = "float64"


def window_suffix(window: str | pd.Timedelta) -> str:
    """Return the column suffix of a window: ``"90D"`` -> ``"90d"``, ``"12h"`` -> ``"12h"``.

    Examples
    --------
    >>> window_suffix("365D"), window_suffix("36h")
    ('365d', '36h')
    """
    td = to_duration(window, name="windows")
    seconds = int(td.total_seconds())
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}d"
    if seconds % 3_600 == 0:
        return f"{seconds // 3_600}h"
    return f"{seconds}s"


def _check_windows(instance: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    owner = type(instance).__name__
    if not value:
        raise InvalidParameterError(
            f"The {attribute.name!r} parameter of {owner} must hold at least one duration such as "
            f"'90D'. Got {value!r} instead."
        )
    for w in value:
        try:
            to_duration(w)
        except InvalidParameterError:
            raise InvalidParameterError(
                f"The {attribute.name!r} parameter of {owner} must hold positive durations such as "
                f"'90D'. Got {w!r} instead."
            ) from None
    suffixes = [window_suffix(w) for w in value]
    if len(set(suffixes)) != len(suffixes):
        raise InvalidParameterError(
            f"The {attribute.name!r} parameter of {owner} must hold distinct durations. "
            f"Got {value!r} instead."
        )


def _check_duration(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        to_duration(value)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"The {attribute.name!r} parameter of {type(instance).__name__} must be a positive "
            f"duration such as '90D'. Got {value!r} instead."
        ) from None


def _to_tuple(value: Any) -> tuple[Any, ...]:
    # One duration (a string, a timedelta or a number of days, numpy's included) or several.
    if isinstance(value, (str, pd.Timedelta, datetime.timedelta, np.timedelta64, numbers.Number)):
        return (value,)
    return tuple(value)


def windows_field(default: tuple[str, ...] = ("90D", "365D")) -> Any:
    """Return an attrs field holding a tuple of distinct positive windows."""
    return attrs.field(default=default, converter=_to_tuple, validator=_check_windows)


def duration_field(default: str) -> Any:
    """Return an attrs field holding one positive duration."""
    return attrs.field(default=default, validator=_check_duration)


class SpecExtractor(abc.ABC):
    """Base of the built-in extractors: derives the protocol methods from :meth:`specs`.

    Subclasses declare ``name``, ``requires``, ``scope`` and implement :meth:`specs` and
    :meth:`_compute`; ``compute`` cuts the tables at ``as_of`` (a no-op for tables that
    :func:`~b2bclient.features.build_features` already cut) and assembles the frame.
    """

    __slots__ = ()

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    scope: ClassVar[str] = "organisation"

    def col(self, feature: str) -> str:
        """Return the full column name of `feature`."""
        return f"{self.name}__{feature}"

    @abc.abstractmethod
    def specs(self) -> tuple[FeatureSpec, ...]:
        """Return the specs of the output columns, in order."""
        ...

    def output_columns(self) -> tuple[str, ...]:
        """Return the output column names, in order."""
        return tuple(s.column for s in self.specs())

    def describe(self) -> dict[str, str]:
        """Return the description of every output column."""
        return {s.column: s.description for s in self.specs()}

    def tags(self) -> ExtractorTags:
        """Return the roll-up rule of each column, the categorical columns and the scope."""
        specs = self.specs()
        return ExtractorTags(
            rollup={s.column: s.rollup for s in specs},
            categorical=frozenset(s.column for s in specs if s.dtype == "category"),
            scope=self.scope,
        )

    def compute(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return one row per organisation known before `as_of`, indexed by ``organisation_id``.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables; rows at or after `as_of` are ignored and later state changes
            reverted.
        as_of : pandas.Timestamp
            The cut-off.

        Returns
        -------
        pandas.DataFrame
            Sorted by ``organisation_id``, columns as :meth:`output_columns`.
        """
        ctx = FeatureTables.prepare(
            tables, to_timestamp(as_of, owner=f"{type(self).__name__}.compute")
        )
        data = self._compute(ctx)
        return ctx.frame(data, self.output_columns())

    @abc.abstractmethod
    def _compute(self, ctx: FeatureTables) -> Mapping[str, Any]: ...


def window_ns(window: str | pd.Timedelta) -> int:
    """Return a window as int64 nanoseconds."""
    return int(to_duration(window, name="windows").value)


def as_float(values: np.ndarray) -> np.ndarray:
    """Return `values` as a float64 array."""
    return np.asarray(values, dtype=np.float64)
