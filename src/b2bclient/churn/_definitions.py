"""Churn definitions: when an organisation counts as lost, as seen from the data before ``as_of``.

A definition turns the tables into *spells*: intervals ``(start, stop]`` during which an
organisation is a client at risk of churning. A spell ends with an event (churn declared at
``stop``) or is censored at ``as_of``. At a landmark ``L`` an organisation is at risk when one of
its spells has ``start < L < stop``; its duration is ``stop - L``.

Churn is dated when it becomes *declarable*: for :class:`Inactivity` that is the last activity
plus the gap, for :class:`ContractEnd` the end of the last contract plus the grace period. Dating
it at the last activity instead would make an organisation that bought last week and never again
"already churned" at today's landmark, which nobody can know today; with the declaration date the
set of organisations at risk at a landmark uses only data before the landmark.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import numpy as np
import pandas as pd

from b2bclient._time import to_duration, to_timestamp
from b2bclient._typing import Tables

if TYPE_CHECKING:
    from b2bclient.base import ClientBase

__all__ = ["ChurnDefinition", "ContractEnd", "Inactivity", "outcomes_from_spells"]

_OUTCOME_COLUMNS = ["organisation_id", "landmark", "duration", "event"]
_SPELL_COLUMNS = ["organisation_id", "start", "stop", "event"]
_DAY = pd.Timedelta(days=1)


@runtime_checkable
class ChurnDefinition(Protocol):
    """Define what churn means: the protocol every churn definition implements.

    ``outcomes(tables, as_of, landmarks)`` returns one row per organisation at risk at each
    landmark with the columns ``organisation_id``, ``landmark``, ``duration`` (float days from
    the landmark to churn or censoring) and ``event`` (bool), using only rows strictly before
    ``as_of``. Definitions are also labels for
    :func:`b2bclient.features.training_frame` (``label`` and ``horizon``).
    """

    def outcomes(
        self, tables: Tables, as_of: pd.Timestamp, landmarks: pd.DatetimeIndex
    ) -> pd.DataFrame:
        """Return the at-risk organisations at each landmark with duration and event."""
        ...


class _Label(abc.ABC):
    """The label protocol of :mod:`b2bclient.features`, shared by every definition."""

    horizon: Any

    @abc.abstractmethod
    def outcomes(
        self, tables: Tables, as_of: pd.Timestamp, landmarks: pd.DatetimeIndex
    ) -> pd.DataFrame: ...

    def label(self, base: ClientBase, cutoff: pd.Timestamp, horizon: pd.Timedelta) -> pd.Series:
        """Return 1.0 for organisations whose churn is declared in ``[cutoff, cutoff + horizon)``.

        The population is the organisations at risk at `cutoff`; every other one is 0.0.

        Parameters
        ----------
        base : ClientBase
            The client base; only rows before ``cutoff + horizon`` are read.
        cutoff : pandas.Timestamp
            Start of the observation window (the landmark).
        horizon : pandas.Timedelta
            Length of the observation window.

        Returns
        -------
        pandas.Series
            float64, indexed by the sorted ``organisation_id`` of the population.

        Examples
        --------
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2020-01-01"] * 2})
        >>> deals = pd.DataFrame({"organisation_id": ["A", "B", "B"],
        ...     "created_at": ["2023-01-10", "2023-01-20", "2023-04-01"], "amount": 1.0})
        >>> base = ClientBase.from_frames(orgs, deals=deals)
        >>> Inactivity("90D").label(base, pd.Timestamp("2023-02-01"), pd.Timedelta("90D"))
        organisation_id
        A    1.0
        B    0.0
        Name: churn, dtype: float64
        """
        cut = to_timestamp(cutoff, name="cutoff", owner=f"{type(self).__name__}.label")
        window = to_duration(horizon, name="horizon", owner=f"{type(self).__name__}.label")
        end = cut + window
        out = self.outcomes(base.as_of(end).tables, end, pd.DatetimeIndex([cut]))
        churned = out["event"].to_numpy() & (out["duration"].to_numpy() < window / _DAY)
        series = pd.Series(
            churned.astype(np.float64),
            index=pd.Index(out["organisation_id"].to_numpy(), name="organisation_id"),
            name="churn",
        )
        return series.sort_index()


class _SpellLabel(_Label):
    """A definition by client spells; a subclass states only its spells (:meth:`spells`)."""

    @abc.abstractmethod
    def spells(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the client spells (organisation_id, start, stop, event) before `as_of`."""

    def outcomes(
        self, tables: Tables, as_of: pd.Timestamp, landmarks: pd.DatetimeIndex
    ) -> pd.DataFrame:
        """Return the organisations at risk at each landmark, with duration and event.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables.
        as_of : pandas.Timestamp
            End of the observed data; later rows are ignored.
        landmarks : pandas.DatetimeIndex
            Times before `as_of`.

        Returns
        -------
        pandas.DataFrame
            Columns ``organisation_id``, ``landmark``, ``duration`` (days) and ``event``.

        Examples
        --------
        >>> deals = pd.DataFrame({"organisation_id": ["A"], "status": ["won"],
        ...     "closed_at": pd.to_datetime(["2023-06-01"])})
        >>> Inactivity("90D").outcomes({"deals": deals}, pd.Timestamp("2024-01-01"),
        ...                            pd.DatetimeIndex(["2023-07-01"]))
          organisation_id   landmark  duration  event
        0               A 2023-07-01      60.0   True
        >>> contracts = pd.DataFrame({"organisation_id": ["A"],
        ...     "started_at": pd.to_datetime(["2023-01-01"]),
        ...     "ends_at": pd.to_datetime(["2023-12-31"]), "cancelled_at": [pd.NaT]})
        >>> ContractEnd("30D").outcomes({"contracts": contracts}, pd.Timestamp("2024-06-01"),
        ...                             pd.DatetimeIndex(["2023-12-01"]))
          organisation_id   landmark  duration  event
        0               A 2023-12-01      60.0   True
        >>> from b2bclient.churn import Custom
        >>> def always(tables, as_of):
        ...     return pd.DataFrame({"organisation_id": ["A"], "start": [pd.Timestamp("2023-01-01")],
        ...                          "stop": [as_of], "event": [False]})
        >>> Custom(always).outcomes({}, pd.Timestamp("2024-01-01"), pd.DatetimeIndex(["2023-12-01"]))
          organisation_id   landmark  duration  event
        0               A 2023-12-01      31.0  False
        """
        return outcomes_from_spells(self.spells(tables, as_of), landmarks)


def _gap(value: Any) -> pd.Timedelta:
    return to_duration(value, name="gap", owner="Inactivity")


def _grace(value: Any) -> pd.Timedelta:
    return to_duration(value, name="grace", owner="ContractEnd", allow_zero=True)


def _inactivity_horizon(value: Any) -> pd.Timedelta:
    return to_duration(value, name="horizon", owner="Inactivity")


def _contract_horizon(value: Any) -> pd.Timedelta:
    return to_duration(value, name="horizon", owner="ContractEnd")


@attrs.frozen
class Inactivity(_SpellLabel):
    """Declare non-contractual buyers churned after `gap` without activity.

    An organisation churns at its last activity when nothing follows within `gap`; the churn is
    *dated* ``last activity + gap``, when it becomes declarable. It is observed only when that
    date is at most the end of the data (``as_of``); otherwise the organisation is censored at
    ``as_of``. An organisation that comes back after churning starts a new spell at its next
    activity. An organisation is at risk at a landmark when it has had an activity before the
    landmark and its last one is less than `gap` before it.

    Parameters
    ----------
    gap : str, int, float or pandas.Timedelta, default="180D"
        Inactivity after which an organisation counts as churned (numbers are days).
    interactions : bool, default=False
        Count interactions (portal logins, calls, meetings, tickets, ...) as activity besides
        purchases (won deals, dated by ``closed_at``).
    horizon : str or pandas.Timedelta, optional
        Default observation window when used as a label of
        :func:`b2bclient.features.training_frame`; defaults to `gap`.

    Examples
    --------
    >>> Inactivity("180D")
    Inactivity(gap=Timedelta('180 days 00:00:00'), interactions=False, horizon=Timedelta('180 days 00:00:00'))
    >>> tables = {"deals": pd.DataFrame({"organisation_id": ["A", "A", "B"],
    ...     "status": ["won"] * 3, "closed_at": pd.to_datetime(["2023-01-01", "2023-02-01",
    ...     "2023-06-01"])})}
    >>> Inactivity("90D").spells(tables, pd.Timestamp("2024-01-01"))
      organisation_id      start       stop  event
    0               A 2023-01-01 2023-05-02   True
    1               B 2023-06-01 2023-08-30   True
    """

    gap: pd.Timedelta = attrs.field(default="180D", converter=_gap)
    interactions: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    horizon: pd.Timedelta = attrs.field(
        default=attrs.Factory(lambda self: self.gap, takes_self=True),
        converter=_inactivity_horizon,
    )

    def activity(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the activity times (``organisation_id``, ``time``) before `as_of`.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables; ``deals`` and, with ``interactions=True``, ``interactions``.
        as_of : pandas.Timestamp
            Rows at or after it are ignored.

        Returns
        -------
        pandas.DataFrame
            Sorted by organisation and time.

        Examples
        --------
        >>> deals = pd.DataFrame({"organisation_id": ["A", "A"], "status": ["won", "lost"],
        ...     "closed_at": pd.to_datetime(["2023-01-01", "2023-02-01"])})
        >>> Inactivity().activity({"deals": deals}, pd.Timestamp("2024-01-01"))
          organisation_id       time
        0               A 2023-01-01
        """
        parts = []
        deals = tables.get("deals")
        if deals is not None and len(deals):
            won = deals["status"].astype(object) == "won"
            closed = deals["closed_at"] if "closed_at" in deals else deals["created_at"]
            keep = (won & (closed < as_of)).to_numpy()
            parts.append(
                pd.DataFrame(
                    {
                        "organisation_id": deals["organisation_id"].to_numpy()[keep],
                        "time": closed.to_numpy()[keep],
                    }
                )
            )
        inter = tables.get("interactions")
        if self.interactions and inter is not None and len(inter):
            keep = (inter["occurred_at"] < as_of).to_numpy()
            parts.append(
                pd.DataFrame(
                    {
                        "organisation_id": inter["organisation_id"].to_numpy()[keep],
                        "time": inter["occurred_at"].to_numpy()[keep],
                    }
                )
            )
        if not parts:
            return pd.DataFrame(
                {
                    "organisation_id": pd.Series(dtype=object),
                    "time": pd.Series(dtype="datetime64[ns]"),
                }
            )
        frame = pd.concat(parts, ignore_index=True)
        frame["time"] = frame["time"].astype("datetime64[ns]")
        return frame.sort_values(["organisation_id", "time"], kind="stable", ignore_index=True)

    def spells(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the client spells of every organisation, from the rows before `as_of`.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables.
        as_of : pandas.Timestamp
            End of the observed data.

        Returns
        -------
        pandas.DataFrame
            Columns ``organisation_id``, ``start`` (first activity of the spell), ``stop`` (churn
            date, or `as_of` when censored) and ``event``.

        Examples
        --------
        >>> deals = pd.DataFrame({"organisation_id": ["A"], "status": ["won"],
        ...     "closed_at": pd.to_datetime(["2023-12-01"])})
        >>> Inactivity("90D").spells({"deals": deals}, pd.Timestamp("2024-01-01"))
          organisation_id      start       stop  event
        0               A 2023-12-01 2024-01-01  False
        """
        as_of = to_timestamp(as_of, owner="Inactivity.spells")
        act = self.activity(tables, as_of)
        if act.empty:
            return _empty_spells()
        org = act["organisation_id"].to_numpy()
        t = act["time"].to_numpy()
        n = t.shape[0]
        last_of_org = np.ones(n, dtype=bool)
        last_of_org[:-1] = org[1:] != org[:-1]
        next_t = np.empty(n, dtype="datetime64[ns]")
        next_t[:-1] = t[1:]
        next_t[-1] = np.datetime64("NaT")
        gap = self.gap.to_timedelta64()
        # A spell ends at an activity followed by `gap` of silence (or by the end of the data).
        ends = last_of_org | (next_t - t >= gap)
        starts = np.ones(n, dtype=bool)
        starts[1:] = ends[:-1]
        start_t = t[starts]
        end_t = t[ends]
        declared = end_t + gap
        event = declared <= as_of.to_datetime64()
        stop = np.where(event, declared, as_of.to_datetime64())
        return pd.DataFrame(
            {"organisation_id": org[ends], "start": start_t, "stop": stop, "event": event}
        )


@attrs.frozen
class ContractEnd(_SpellLabel):
    """Declare contractual clients churned when a contract ends and none follows within `grace`.

    Contracts of an organisation that overlap, or follow each other within `grace`, form one
    spell from the start of the first to the end of the last (``ends_at``, or ``cancelled_at``
    when earlier). The churn is dated ``end of the spell + grace``; it is observed when that date
    is at most ``as_of``, otherwise the organisation is censored at ``as_of``. A scheduled
    ``ends_at`` is known from the contract's start; a cancellation only from its date.

    Parameters
    ----------
    grace : str, int, float or pandas.Timedelta, default="90D"
        Time a new contract may take to start after the previous one ended (numbers are days).
    horizon : str or pandas.Timedelta, default="180D"
        Default observation window when used as a label of
        :func:`b2bclient.features.training_frame`.

    Examples
    --------
    >>> contracts = pd.DataFrame({"organisation_id": ["A", "A", "B"],
    ...     "started_at": pd.to_datetime(["2021-01-01", "2022-02-01", "2021-06-01"]),
    ...     "ends_at": pd.to_datetime(["2022-01-01", "2023-01-01", "2026-06-01"]),
    ...     "cancelled_at": pd.to_datetime([None, None, "2022-03-01"])})
    >>> ContractEnd("90D").spells({"contracts": contracts}, pd.Timestamp("2024-01-01"))
      organisation_id      start       stop  event
    0               A 2021-01-01 2023-04-01   True
    1               B 2021-06-01 2022-05-30   True
    """

    grace: pd.Timedelta = attrs.field(default="90D", converter=_grace)
    horizon: pd.Timedelta = attrs.field(default="180D", converter=_contract_horizon)

    def spells(self, tables: Tables, as_of: pd.Timestamp) -> pd.DataFrame:
        """Return the contract spells of every organisation, from the rows before `as_of`.

        Parameters
        ----------
        tables : mapping of str to pandas.DataFrame
            Canonical tables; only ``contracts`` is read.
        as_of : pandas.Timestamp
            End of the observed data.

        Returns
        -------
        pandas.DataFrame
            Columns ``organisation_id``, ``start``, ``stop`` and ``event``.

        Examples
        --------
        >>> contracts = pd.DataFrame({"organisation_id": ["A"],
        ...     "started_at": pd.to_datetime(["2023-01-01"]),
        ...     "ends_at": pd.to_datetime(["2025-01-01"]), "cancelled_at": [pd.NaT]})
        >>> ContractEnd().spells({"contracts": contracts}, pd.Timestamp("2024-01-01"))
          organisation_id      start       stop  event
        0               A 2023-01-01 2024-01-01  False
        """
        as_of = to_timestamp(as_of, owner="ContractEnd.spells")
        c = tables.get("contracts")
        if c is None or c.empty:
            return _empty_spells()
        c = c.loc[(c["started_at"] < as_of).to_numpy()]
        if c.empty:
            return _empty_spells()
        ends = c["ends_at"]
        if "cancelled_at" in c:
            cancelled = c["cancelled_at"].where(c["cancelled_at"] < as_of)
            ends = ends.where(cancelled.isna() | (cancelled >= ends), cancelled)
        frame = pd.DataFrame(
            {
                "organisation_id": c["organisation_id"].to_numpy(),
                "s": c["started_at"].to_numpy(dtype="datetime64[ns]"),
                "e": ends.to_numpy(dtype="datetime64[ns]"),
            }
        ).sort_values(["organisation_id", "s"], kind="stable", ignore_index=True)
        org = frame["organisation_id"].to_numpy()
        s = frame["s"].to_numpy()
        running = frame.groupby("organisation_id", sort=False)["e"].cummax().to_numpy()
        n = s.shape[0]
        first_of_org = np.ones(n, dtype=bool)
        first_of_org[1:] = org[1:] != org[:-1]
        prev_running = np.empty(n, dtype="datetime64[ns]")
        prev_running[0] = np.datetime64("NaT")
        prev_running[1:] = running[:-1]
        grace = self.grace.to_timedelta64()
        new_block = first_of_org | (s >= prev_running + grace)
        block = np.cumsum(new_block) - 1
        starts = s[new_block]
        block_end = pd.Series(running).groupby(block).max().to_numpy()
        declared = block_end + grace
        event = declared <= as_of.to_datetime64()
        stop = np.where(event, declared, as_of.to_datetime64())
        spells = pd.DataFrame(
            {"organisation_id": org[new_block], "start": starts, "stop": stop, "event": event}
        )
        # A contract cancelled before it started gives an empty spell: never at risk.
        return spells.loc[spells["stop"] > spells["start"]].reset_index(drop=True)


def _empty_spells() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organisation_id": pd.Series(dtype=object),
            "start": pd.Series(dtype="datetime64[ns]"),
            "stop": pd.Series(dtype="datetime64[ns]"),
            "event": pd.Series(dtype=bool),
        }
    )


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[_OUTCOME_COLUMNS].sort_values(["landmark", "organisation_id"], kind="stable")
    out = out.reset_index(drop=True)
    out["duration"] = out["duration"].astype(np.float64)
    out["event"] = out["event"].astype(bool)
    return out


def outcomes_from_spells(spells: pd.DataFrame, landmarks: pd.DatetimeIndex) -> pd.DataFrame:
    """Return, for each landmark, the organisations with a spell ``start < landmark < stop``.

    Parameters
    ----------
    spells : pandas.DataFrame
        Columns ``organisation_id``, ``start``, ``stop`` and ``event``, non-overlapping per
        organisation.
    landmarks : pandas.DatetimeIndex
        The landmarks.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id``, ``landmark``, ``duration`` (``stop - landmark`` in days)
        and ``event``, sorted by landmark and organisation.

    Examples
    --------
    >>> spells = pd.DataFrame({"organisation_id": ["A"], "start": [pd.Timestamp("2023-01-01")],
    ...                        "stop": [pd.Timestamp("2023-03-01")], "event": [True]})
    >>> outcomes_from_spells(spells, pd.DatetimeIndex(["2023-02-01", "2023-04-01"]))
      organisation_id   landmark  duration  event
    0               A 2023-02-01      28.0   True
    """
    start = spells["start"].to_numpy(dtype="datetime64[ns]")
    stop = spells["stop"].to_numpy(dtype="datetime64[ns]")
    org = spells["organisation_id"].to_numpy()
    event = spells["event"].to_numpy(dtype=bool)
    frames = []
    for lm in landmarks:
        t = lm.to_datetime64()
        at_risk = (start < t) & (t < stop)
        frames.append(
            pd.DataFrame(
                {
                    "organisation_id": org[at_risk],
                    "landmark": np.full(int(at_risk.sum()), t, dtype="datetime64[ns]"),
                    "duration": (stop[at_risk] - t) / np.timedelta64(1, "D"),
                    "event": event[at_risk],
                }
            )
        )
    if not frames:
        return _finish(
            pd.DataFrame(
                {
                    "organisation_id": pd.Series(dtype=object),
                    "landmark": pd.Series(dtype="datetime64[ns]"),
                    "duration": pd.Series(dtype=np.float64),
                    "event": pd.Series(dtype=bool),
                }
            )
        )
    return _finish(pd.concat(frames, ignore_index=True))
