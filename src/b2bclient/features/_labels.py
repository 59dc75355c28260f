"""Labels observed in ``[cutoff, cutoff + horizon)`` for training frames."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration
from b2bclient.base._schema import STAGES
from b2bclient.features._context import NAT, complete_tables, times_ns
from b2bclient.features._spec import duration_field

if TYPE_CHECKING:
    from b2bclient.base import ClientBase

__all__ = ["NextPurchase", "NoActivity", "ProcurementReached", "WonDeal"]

_PROCUREMENT = STAGES.index("procurement")


def _known_ids(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.Index:
    orgs = tables["organisations"]
    ids = orgs["organisation_id"].to_numpy(dtype=object)[(orgs["created_at"] < cutoff).to_numpy()]
    return pd.Index(np.sort(ids), dtype=object, name="organisation_id")


def _flag(population: pd.Index, hits: Any) -> pd.Series:
    values = population.isin(pd.Index(hits, dtype=object)).astype(np.float64)
    return pd.Series(values, index=population, name="label")


def _window(cutoff: pd.Timestamp, horizon: pd.Timedelta) -> tuple[int, int]:
    return int(cutoff.value), int((cutoff + horizon).value)


def _purchases(deals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    won = (deals["status"] == "won").to_numpy(dtype=bool, na_value=False)
    closed = times_ns(deals["closed_at"])
    created = times_ns(deals["created_at"])
    t = np.where(closed == NAT, created, closed)
    return won, t


def _open_at(frame: pd.DataFrame, open_status: str, start: int) -> np.ndarray:
    """Mark the rows created before `start` and still open then (not closed before it)."""
    created = times_ns(frame["created_at"])
    closed = times_ns(frame["closed_at"])
    status = frame["status"].astype(object).to_numpy()
    open_at: np.ndarray = (created < start) & (
        (status == open_status) | ((closed != NAT) & (closed >= start))
    )
    return open_at


def _check_observed(
    label: Any, base: ClientBase, cutoff: pd.Timestamp, horizon: pd.Timedelta
) -> None:
    """Refuse a base cut before the end of the observation window."""
    known = base.known_before
    end = cutoff + horizon
    if known is not None and known < end:
        raise InvalidParameterError(
            f"{type(label).__name__}.label observes [{cutoff}, {end}), but this client base was "
            f"cut as of {known}: what happens from {known} on is unknown, and the label would "
            f"count it as nothing happening. Pass the full base (or one cut at {end} or later), "
            f"an earlier cutoff or a shorter horizon."
        )


def _among(known: pd.Index, ids: Any) -> pd.Index:
    return known[known.isin(pd.Index(ids, dtype=object))]


class _WindowLabel(abc.ABC):
    """A label observed in ``[cutoff, cutoff + horizon)`` over a population known at the cutoff."""

    __slots__ = ()

    def label(self, base: ClientBase, cutoff: pd.Timestamp, horizon: pd.Timedelta) -> pd.Series:
        """Return 1.0/0.0 per organisation of the label's population at `cutoff`.

        The population and what counts as 1.0 are described on each label class.

        Parameters
        ----------
        base : ClientBase
            The full client base (rows after the cutoff are the observation).
        cutoff : pandas.Timestamp
            Start of the observation window.
        horizon : pandas.Timedelta
            Length of the observation window.

        Returns
        -------
        pandas.Series
            float64, indexed by ``organisation_id`` (sorted).

        Raises
        ------
        InvalidParameterError
            If `base` was cut (``base.as_of``) before ``cutoff + horizon``: what happens in the
            rest of the window is unknown, and counting it as nothing happening would turn
            positives into 0.0.

        Examples
        --------
        >>> from b2bclient.base import ClientBase
        >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2024-01-01"] * 2})
        >>> base = ClientBase.from_frames(orgs)
        >>> NextPurchase().label(base, pd.Timestamp("2025-01-01"), pd.Timedelta("30D")).to_dict()
        {'A': 0.0, 'B': 0.0}
        """
        _check_observed(self, base, cutoff, horizon)
        tables = complete_tables(base.tables)
        start, end = _window(cutoff, horizon)
        return self._observe(tables, _known_ids(tables, cutoff), start, end)

    @abc.abstractmethod
    def _observe(
        self, tables: dict[str, pd.DataFrame], known: pd.Index, start: int, end: int
    ) -> pd.Series:
        """Return the label over the population, given the ids known before `start` (ns)."""


@attrs.frozen
class NextPurchase(_WindowLabel):
    """Label 1.0 when an organisation makes a purchase in ``[cutoff, cutoff + horizon)``.

    The population is every organisation known before the cutoff.

    Parameters
    ----------
    horizon : str, default "90D"
        Observation window.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2024-01-01", "2024-01-01"]})
    >>> deals = pd.DataFrame({"organisation_id": ["A"], "created_at": ["2025-02-01"], "amount": [1.0]})
    >>> NextPurchase("90D").label(ClientBase.from_frames(orgs, deals=deals),
    ...                           pd.Timestamp("2025-01-01"), pd.Timedelta("90D")).tolist()
    [1.0, 0.0]
    """

    name: ClassVar[str] = "next_purchase"
    horizon: str = duration_field("90D")

    def _observe(
        self, tables: dict[str, pd.DataFrame], known: pd.Index, start: int, end: int
    ) -> pd.Series:
        deals = tables["deals"]
        won, t = _purchases(deals)
        hit = won & (t >= start) & (t < end)
        return _flag(known, deals["organisation_id"].to_numpy(dtype=object)[hit])


@attrs.frozen
class WonDeal(_WindowLabel):
    """Label 1.0 when a deal open at the cutoff is won in ``[cutoff, cutoff + horizon)``.

    The population is the organisations with at least one deal open at the cutoff (created
    before it and not closed before it): the label measures pipeline conversion.

    Parameters
    ----------
    horizon : str, default "90D"
        Observation window.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "created_at": ["2024-01-01"] * 3})
    >>> deals = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2024-12-01"] * 2,
    ...     "closed_at": ["2025-01-15", "2025-01-20"], "status": ["won", "lost"], "amount": [1.0, 2.0]})
    >>> WonDeal().label(ClientBase.from_frames(orgs, deals=deals), pd.Timestamp("2025-01-01"),
    ...                 pd.Timedelta("90D")).to_dict()
    {'A': 1.0, 'B': 0.0}
    """

    name: ClassVar[str] = "won_deal"
    horizon: str = duration_field("90D")

    def _observe(
        self, tables: dict[str, pd.DataFrame], known: pd.Index, start: int, end: int
    ) -> pd.Series:
        deals = tables["deals"]
        won, t = _purchases(deals)
        open_at = _open_at(deals, "open", start)
        ids = deals["organisation_id"].to_numpy(dtype=object)
        population = _among(known, ids[open_at])
        hit = open_at & won & (t >= start) & (t < end)
        return _flag(population, ids[hit])


@attrs.frozen
class ProcurementReached(_WindowLabel):
    """Label 1.0 when an active project reaches procurement in ``[cutoff, cutoff + horizon)``.

    The population is the organisations with a project active at the cutoff that had not yet
    reached procurement (no stage at or after procurement started before the cutoff).

    Parameters
    ----------
    horizon : str, default "180D"
        Observation window.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["A"], "created_at": ["2024-01-01"]})
    >>> projects = pd.DataFrame({"project_id": ["P"], "organisation_id": ["A"],
    ...                          "created_at": ["2024-02-01"], "status": ["active"]})
    >>> stages = pd.DataFrame({"project_id": ["P", "P"], "stage": ["design", "procurement"],
    ...                        "started_at": ["2024-02-01", "2025-03-01"]})
    >>> base = ClientBase.from_frames(orgs, projects=projects, stages=stages)
    >>> ProcurementReached().label(base, pd.Timestamp("2025-01-01"), pd.Timedelta("180D")).tolist()
    [1.0]
    """

    name: ClassVar[str] = "procurement_reached"
    horizon: str = duration_field("180D")

    def _observe(
        self, tables: dict[str, pd.DataFrame], known: pd.Index, start: int, end: int
    ) -> pd.Series:
        projects = tables["projects"]
        stages = tables["stages"]
        active = _open_at(projects, "active", start)
        stage = pd.Categorical(stages["stage"], categories=list(STAGES)).codes
        started = times_ns(stages["started_at"])
        late = (stage >= _PROCUREMENT) & (started != NAT)
        project_ids = stages["project_id"].to_numpy(dtype=object)
        before = pd.Index(project_ids[late & (started < start)], dtype=object)
        reached = pd.Index(project_ids[late & (started >= start) & (started < end)], dtype=object)
        pid = projects["project_id"].to_numpy(dtype=object)
        eligible = active & ~pd.Index(pid).isin(before)
        ids = projects["organisation_id"].to_numpy(dtype=object)
        population = _among(known, ids[eligible])
        hit = eligible & pd.Index(pid).isin(reached)
        return _flag(population, ids[hit])


@attrs.frozen
class NoActivity(_WindowLabel):
    """Label 1.0 when an active organisation neither buys nor interacts for `gap`.

    Unlike :class:`b2bclient.churn.Inactivity`, which dates churn from purchases alone for survival
    analysis, this label also counts interactions as activity.

    The population is the organisations known before the cutoff with a purchase or an
    interaction in ``[cutoff - active_window, cutoff)``; the label is 1.0 when they have no
    purchase and no interaction in ``[cutoff, cutoff + horizon)`` (the horizon defaults to
    `gap`).

    Parameters
    ----------
    gap : str, default "180D"
        Length of silence that counts as churn; also the default horizon.
    active_window : str, default "365D"
        Window before the cutoff in which an organisation must have been active.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "created_at": ["2023-01-01"] * 3})
    >>> deals = pd.DataFrame({"organisation_id": ["A", "B", "B"],
    ...     "created_at": ["2024-10-01", "2024-11-01", "2025-02-01"], "amount": [1.0, 1.0, 1.0]})
    >>> base = ClientBase.from_frames(orgs, deals=deals)
    >>> NoActivity("180D").label(base, pd.Timestamp("2025-01-01"), pd.Timedelta("180D")).to_dict()
    {'A': 1.0, 'B': 0.0}
    """

    name: ClassVar[str] = "inactivity"
    gap: str = duration_field("180D")
    active_window: str = duration_field("365D")

    @property
    def horizon(self) -> str:
        """Return the default observation window, the `gap`."""
        return self.gap

    def _observe(
        self, tables: dict[str, pd.DataFrame], known: pd.Index, start: int, end: int
    ) -> pd.Series:
        since = start - int(to_duration(self.active_window).value)
        deals = tables["deals"]
        won, t = _purchases(deals)
        interactions = tables["interactions"]
        it = times_ns(interactions["occurred_at"])
        deal_ids = deals["organisation_id"].to_numpy(dtype=object)
        inter_ids = interactions["organisation_id"].to_numpy(dtype=object)
        before = np.concatenate(
            (deal_ids[won & (t >= since) & (t < start)], inter_ids[(it >= since) & (it < start)])
        )
        after = np.concatenate(
            (deal_ids[won & (t >= start) & (t < end)], inter_ids[(it >= start) & (it < end)])
        )
        population = _among(known, before)
        active_after = population.isin(pd.Index(after, dtype=object))
        return pd.Series((~active_after).astype(np.float64), index=population, name="label")
