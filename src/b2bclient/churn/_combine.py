"""Combinations of churn definitions: churn under any of them (:class:`AnyOf`) or all (:class:`AllOf`)."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

import attrs
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration
from b2bclient._typing import Tables
from b2bclient.churn._definitions import ChurnDefinition, _finish, _Label

__all__ = ["AllOf", "AnyOf"]


def _definitions(values: Iterable[Any]) -> tuple[ChurnDefinition, ...]:
    out = tuple(values)
    if len(out) < 2:
        raise InvalidParameterError(
            f"AnyOf and AllOf combine at least two churn definitions, such as "
            f"AnyOf(Inactivity('180D'), ContractEnd()). Got {len(out)}."
        )
    for d in out:
        if not isinstance(d, ChurnDefinition):
            raise InvalidParameterError(
                f"AnyOf and AllOf combine churn definitions (objects with an outcomes method). "
                f"Got {d!r} instead."
            )
    return out


@attrs.frozen(init=False)
class _Combination(_Label):
    """Combine several churn definitions; a subclass states only how (:meth:`_combine`)."""

    definitions: tuple[ChurnDefinition, ...]
    horizon: pd.Timedelta

    def __init__(self, *definitions: ChurnDefinition, horizon: Any = "180D") -> None:
        self.__attrs_init__(
            _definitions(definitions),
            to_duration(horizon, name="horizon", owner=type(self).__name__),
        )

    def outcomes(
        self, tables: Tables, as_of: pd.Timestamp, landmarks: pd.DatetimeIndex
    ) -> pd.DataFrame:
        """Return the organisations at risk at each landmark, with the combined churn.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables.
        as_of : pandas.Timestamp
            End of the observed data.
        landmarks : pandas.DatetimeIndex
            Times before `as_of`.

        Returns
        -------
        pandas.DataFrame
            Columns ``organisation_id``, ``landmark``, ``duration`` (days) and ``event``.

        Examples
        --------
        >>> from b2bclient.churn import ContractEnd, Inactivity
        >>> tables = {"deals": pd.DataFrame({"organisation_id": ["A"], "status": ["won"],
        ...     "closed_at": pd.to_datetime(["2023-06-01"])})}
        >>> out = AnyOf(Inactivity("90D"), ContractEnd()).outcomes(
        ...     tables, pd.Timestamp("2024-01-01"), pd.DatetimeIndex(["2023-06-15"]))
        >>> out.columns.tolist(), out["duration"].tolist()
        (['organisation_id', 'landmark', 'duration', 'event'], [76.0])
        """
        frames = [
            d.outcomes(tables, as_of, landmarks).assign(part=i)
            for i, d in enumerate(self.definitions)
        ]
        return _finish(self._combine(pd.concat(frames, ignore_index=True)))

    @abc.abstractmethod
    def _combine(self, stacked: pd.DataFrame) -> pd.DataFrame:
        """Reduce the stacked outcomes of every definition to one row per organisation/landmark."""


@attrs.frozen(init=False)
class AnyOf(_Combination):
    """Declare churn under any of several definitions, whichever comes first.

    An organisation is at risk at a landmark when it is at risk under at least one definition;
    its duration is the shortest of theirs, an event when the shortest is an event.

    Parameters
    ----------
    *definitions : ChurnDefinition
        At least two definitions.
    horizon : str or pandas.Timedelta, default="180D"
        Default observation window when used as a label.

    Examples
    --------
    >>> from b2bclient.churn import ContractEnd, Inactivity
    >>> AnyOf(Inactivity("180D"), ContractEnd("60D")).definitions[1]
    ContractEnd(grace=Timedelta('60 days 00:00:00'), horizon=Timedelta('180 days 00:00:00'))
    >>> tables = {"deals": pd.DataFrame({"organisation_id": ["A"], "status": ["won"],
    ...     "closed_at": pd.to_datetime(["2023-06-01"])})}
    >>> AnyOf(Inactivity("90D"), Inactivity("30D")).outcomes(
    ...     tables, pd.Timestamp("2024-01-01"), pd.DatetimeIndex(["2023-06-15"]))
      organisation_id   landmark  duration  event
    0               A 2023-06-15      16.0   True
    """

    def _combine(self, stacked: pd.DataFrame) -> pd.DataFrame:
        # The shortest duration; among ties an observed churn wins over censoring.
        stacked = stacked.sort_values(
            ["organisation_id", "landmark", "duration", "event"],
            ascending=[True, True, True, False],
            kind="stable",
        )
        return stacked.drop_duplicates(["organisation_id", "landmark"], keep="first")


@attrs.frozen(init=False)
class AllOf(_Combination):
    """Declare churn once every one of several definitions has declared it.

    An organisation is at risk at a landmark when it is at risk under at least one definition;
    a definition under which it is not at risk counts as already churned (for example
    ``ContractEnd`` for an organisation without a contract), so the churn comes when the last
    definition declares it: the longest duration, an event when all are events.

    Parameters
    ----------
    *definitions : ChurnDefinition
        At least two definitions.
    horizon : str or pandas.Timedelta, default="180D"
        Default observation window when used as a label.

    Examples
    --------
    >>> from b2bclient.churn import Inactivity
    >>> both = AllOf(Inactivity("180D"), Inactivity("90D", interactions=True))
    >>> len(both.definitions)
    2
    >>> tables = {"deals": pd.DataFrame({"organisation_id": ["A"], "status": ["won"],
    ...     "closed_at": pd.to_datetime(["2023-06-01"])})}
    >>> AllOf(Inactivity("90D"), Inactivity("30D")).outcomes(
    ...     tables, pd.Timestamp("2024-01-01"), pd.DatetimeIndex(["2023-06-15"]))
      organisation_id   landmark  duration  event
    0               A 2023-06-15      76.0   True
    """

    def _combine(self, stacked: pd.DataFrame) -> pd.DataFrame:
        # The longest duration, an event only when every definition declares one.
        grouped = stacked.groupby(["organisation_id", "landmark"], sort=False)
        combined = grouped.agg(duration=("duration", "max"), event=("event", "all"))
        return combined.reset_index()
