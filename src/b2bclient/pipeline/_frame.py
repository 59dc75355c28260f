"""Deals seen at a point in time: the rows :class:`~b2bclient.pipeline.WinModel` learns from and scores.

A *deal snapshot* is a deal as it was known at a time ``at``: created before ``at`` and not closed
before it. Its attributes are computed from rows strictly before ``at`` (the deal's channel and
amount, its amount relative to the organisation's usual order, the organisation's personal
touchpoints in the 90 days before, the stage its project was in, its age); its organisation's
features come from :func:`~b2bclient.features.build_features` at the latest feature snapshot at or
before ``at``. Nothing that became known when the deal closed enters a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidTablesError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import ClientBase
from b2bclient.base._schema import DEAL_CHANNELS, STAGES

__all__ = [
    "DEAL_COLUMNS",
    "deal_attributes",
    "feature_times",
    "open_deal_snapshots",
    "training_snapshots",
    "window_count",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_DAY = 86_400 * 10**9
_PERSONAL = ("email", "phone", "meeting")
#: The deal's own attributes, in the order of the frame.
DEAL_COLUMNS: tuple[str, ...] = (
    "deal__channel",
    "deal__stage",
    "deal__log_amount",
    "deal__relative_amount",
    "deal__touchpoints_90d",
    "deal__age_days",
)


def window_count(
    ev_key: Ints, ev_t: Ints, ev_value: Floats | None, q_key: Ints, q_lo: Ints, q_hi: Ints
) -> tuple[Floats, Floats]:
    """Return per query the count and the sum of the events of its key with ``lo <= t < hi``.

    Exact at the nanosecond: events and query bounds are sorted together by key, time and kind (a
    bound before an event at the same time), and cumulative counts are read at the bounds.

    Examples
    --------
    >>> k = np.array([0, 0, 1]); t = np.array([5, 10, 5])
    >>> window_count(k, t, None, np.array([0, 1]), np.array([5, 0]), np.array([10, 5]))[0].tolist()
    [1.0, 0.0]
    """
    n_ev, n_q = len(ev_key), len(q_key)
    values = np.ones(n_ev) if ev_value is None else np.asarray(ev_value, dtype=np.float64)
    key = np.concatenate([ev_key, q_key, q_key])
    t = np.concatenate([ev_t, q_lo, q_hi])
    kind = np.concatenate([np.ones(n_ev, np.int8), np.zeros(2 * n_q, np.int8)])
    order = np.lexsort((kind, t, key))
    is_event = kind[order] == 1
    cum_count = np.cumsum(is_event) - is_event
    vals = np.zeros(len(key))
    vals[:n_ev] = values
    cum_sum = np.cumsum(vals[order]) - vals[order]
    position = np.empty(len(key), dtype=np.int64)
    position[order] = np.arange(len(key))
    lo, hi = position[n_ev : n_ev + n_q], position[n_ev + n_q :]
    count = (cum_count[hi] - cum_count[lo]).astype(np.float64)
    return count, np.asarray(cum_sum[hi] - cum_sum[lo], dtype=np.float64)


def _ns(series: pd.Series) -> Ints:
    return np.asarray(series.to_numpy("datetime64[ns]").view(np.int64), dtype=np.int64)


def feature_times(
    as_of: pd.Timestamp, every: pd.Timedelta, start: pd.Timestamp
) -> pd.DatetimeIndex:
    """Return the feature snapshot times ``as_of - k * every`` at or after `start`, ascending.

    Examples
    --------
    >>> feature_times(pd.Timestamp("2024-04-01"), pd.Timedelta("30D"), pd.Timestamp("2024-02-01"))
    DatetimeIndex(['2024-02-01', '2024-03-02', '2024-04-01'], dtype='datetime64[ns]', freq=None)
    """
    k = max(int((as_of - start) // every), 0)
    return pd.DatetimeIndex([as_of - i * every for i in range(k, -1, -1)]).as_unit("ns")


def deal_attributes(base: ClientBase, deal_ids: Any, at: Any) -> pd.DataFrame:
    """Return :data:`DEAL_COLUMNS` of deals as known at the times `at` (rows strictly before).

    Parameters
    ----------
    base : ClientBase
        The client base; only rows before each ``at`` are read.
    deal_ids : array-like of str
        Deals of `base`, each created before its ``at``.
    at : array-like of datetime64[ns]
        The time each deal is seen at.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order: the channel (a category, ``"other"`` when missing), the
        stage the deal's project was in when the deal was created (``"none"`` for a deal without
        a project), the log amount, the log amount minus the mean log amount of the
        organisation's deals created in the 365 days before the deal (0 when there is none),
        ``log1p`` of the organisation's e-mails, calls and meetings in the 90 days up to the
        deal's creation, and the days since the deal's creation (in whole seconds, so 0 at its
        creation). All but the age are the deal's attributes at its creation, identical at every
        ``at`` (each known from then on).
    """
    deals = base.deals.set_index("deal_id")
    rows = deals.loc[np.asarray(deal_ids, dtype=object)]
    at_ns = np.asarray(pd.DatetimeIndex(at).as_unit("ns").asi8, dtype=np.int64)
    created = _ns(rows["created_at"])
    orgs = pd.Index(base.organisations["organisation_id"])
    org = orgs.get_indexer(rows["organisation_id"]).astype(np.int64)

    all_org = orgs.get_indexer(deals["organisation_id"]).astype(np.int64)
    all_t = _ns(deals["created_at"])
    log_all = np.log(np.maximum(deals["amount"].to_numpy(np.float64), 1.0))
    n, total = window_count(all_org, all_t, log_all, org, created - 365 * _DAY, created)
    log_amount = np.log(np.maximum(rows["amount"].to_numpy(np.float64), 1.0))
    relative = np.where(n > 0, log_amount - total / np.maximum(n, 1.0), 0.0)

    inter = base.interactions
    personal = inter["channel"].astype(object).isin(_PERSONAL).to_numpy()
    i_org = orgs.get_indexer(inter["organisation_id"][personal]).astype(np.int64)
    # The deal's own attributes are those of its creation (the contact that led to it, the stage
    # that ordered it), the same at every time the deal is seen: a snapshot of an open deal is
    # the same deal, older. Rows up to the instant of creation count (at = created + 1 ns).
    seen = created + 1
    touches, _ = window_count(
        i_org, _ns(inter["occurred_at"][personal]), None, org, seen - 90 * _DAY, seen
    )

    stage = np.full(len(rows), "none", dtype=object)
    project = rows["project_id"].astype(object).to_numpy() if "project_id" in rows else None
    if project is not None and len(base.stages):
        has = pd.notna(project)
        stages = base.stages
        p_idx = pd.Index(pd.unique(stages["project_id"].astype(object)))
        s_key = p_idx.get_indexer(stages["project_id"].astype(object)).astype(np.int64)
        q_key = p_idx.get_indexer(project.astype(object)).astype(np.int64)
        started = _ns(stages["started_at"])
        code = stages["stage"].astype(object).map({s: i for i, s in enumerate(STAGES)})
        # The stage running at `at` is the latest stage started before `at`.
        best = np.full(len(rows), -1, dtype=np.int64)
        for i, _s in enumerate(STAGES):
            mask = (code == i).to_numpy()
            c, _ = window_count(
                s_key[mask],
                started[mask],
                None,
                q_key,
                np.full(len(rows), np.iinfo(np.int64).min // 2),
                seen,
            )
            best = np.where((c > 0) & has & (q_key >= 0), i, best)
        stage = np.where(best >= 0, np.array(STAGES, dtype=object)[np.maximum(best, 0)], stage)
        stage = np.where(has & (best < 0), "before_stages", stage)
    channel = rows["channel"].astype(object).where(rows["channel"].notna(), "other")
    out = pd.DataFrame(
        {
            "deal__channel": pd.Categorical(channel.to_numpy(), categories=DEAL_CHANNELS),
            "deal__stage": pd.Categorical(stage, categories=("none", "before_stages", *STAGES)),
            "deal__log_amount": log_amount,
            "deal__relative_amount": relative,
            "deal__touchpoints_90d": np.log1p(touches),
            # Whole seconds: a deal seen at its creation (1 ns after it) has age exactly 0.
            "deal__age_days": ((at_ns - created) // 10**9) * 10**9 / _DAY,
        }
    )
    return out


def _with_features(
    base: ClientBase, frame: pd.DataFrame, times: pd.DatetimeIndex, extractors: Any
) -> pd.DataFrame:
    """Join each row's organisation features from the latest feature time at or before ``at``."""
    from b2bclient.features import build_features

    at = frame["at"].to_numpy("datetime64[ns]")
    which = np.searchsorted(times.to_numpy(), at, side="right") - 1
    parts = []
    for k in np.unique(which):
        rows = frame[which == k]
        features = build_features(base, as_of=times[k], extractors=extractors)
        parts.append(features.reindex(rows["organisation_id"]).set_axis(rows.index))
    org_features = pd.concat(parts).loc[frame.index] if parts else pd.DataFrame(index=frame.index)
    return pd.concat([frame, org_features], axis=1)


def open_deal_snapshots(
    base: ClientBase, as_of: Any, *, extractors: Any = None, deal_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the deals open at `as_of` as known just before it, with their features.

    A deal is open at `as_of` when it was created before `as_of` and not closed before it. The
    frame has ``deal_id``, ``organisation_id``, ``at`` (= `as_of`), ``amount``, then
    :data:`DEAL_COLUMNS` and the organisation's features as of `as_of`, indexed from 0.
    """
    as_of = to_timestamp(as_of, owner="open_deal_snapshots")
    cut = base.as_of(as_of)
    deals = cut.deals[cut.deals["status"] == "open"]
    if deal_ids is not None:
        deals = deals[deals["deal_id"].isin(list(deal_ids))]
    frame = pd.DataFrame(
        {
            "deal_id": deals["deal_id"].to_numpy(object),
            "organisation_id": deals["organisation_id"].to_numpy(object),
            "at": np.full(len(deals), as_of.to_datetime64()),
            "amount": deals["amount"].to_numpy(np.float64),
        }
    )
    attrs = deal_attributes(cut, frame["deal_id"], frame["at"])
    frame = pd.concat([frame, attrs], axis=1)
    return _with_features(cut, frame, pd.DatetimeIndex([as_of]), extractors)


def training_snapshots(
    base: ClientBase,
    as_of: Any,
    *,
    every: Any = "30D",
    lookback: Any = "730D",
    extractors: Any = None,
) -> pd.DataFrame:
    """Return the closed deals as seen before they closed, labelled, for training a win model.

    Every deal closed (won or lost) before `as_of` and created within `lookback` before it is
    seen at its creation and at every feature time (``as_of - k * every``) at which it was still
    open. Each row holds what was known then (:func:`deal_attributes` and the organisation's
    features at the latest feature time at or before the row's ``at``) and the label ``won``.

    Parameters
    ----------
    base : ClientBase
        The client base; it is cut at `as_of` first.
    as_of : str or pandas.Timestamp
        Only deals closed before it count; never defaults to now.
    every : str or pandas.Timedelta, default "30D"
        Spacing of the feature snapshots.
    lookback : str or pandas.Timedelta, default "730D"
        How far back deals are taken (by creation).
    extractors : optional
        Which organisation features to build, as in ``build_features``.

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, ``organisation_id``, ``at``, ``amount``, ``won``, :data:`DEAL_COLUMNS`,
        then the organisation features.

    Raises
    ------
    InvalidTablesError
        If no deal closed before `as_of` within `lookback`, or the closed deals are all won or
        all lost: there is nothing to learn from.
    """
    owner = "WinModel"
    as_of = to_timestamp(as_of, owner=owner)
    step = to_duration(every, name="every", owner=owner)
    span = to_duration(lookback, name="lookback", owner=owner)
    cut = base.as_of(as_of)
    deals = cut.deals
    closed = deals[(deals["status"] != "open") & (deals["created_at"] >= as_of - span)]
    labels = closed["status"].astype(object).eq("won")
    if len(closed) == 0 or labels.nunique() < 2:
        got = "none" if len(closed) == 0 else f"{len(closed)}, all {closed['status'].iloc[0]}"
        raise InvalidTablesError(
            f"'deals': a win model needs won and lost deals closed before as_of={as_of} (created "
            f"within lookback={span}) to learn from; got {got}. Choose a later as_of or a longer "
            "lookback."
        )
    times = feature_times(as_of, step, as_of - span - step)
    created = closed["created_at"].to_numpy("datetime64[ns]")
    ended = closed["closed_at"].to_numpy("datetime64[ns]")
    # The creation row sees the deal just after it was created: at = created_at + 1 ns.
    ids = [closed["deal_id"].to_numpy(object)]
    at = [created + np.timedelta64(1, "ns")]
    for t in times.to_numpy():
        open_then = (created < t) & (ended >= t)
        ids.append(closed["deal_id"].to_numpy(object)[open_then])
        at.append(np.full(int(open_then.sum()), t))
    deal_id = np.concatenate(ids)
    at_all = np.concatenate(at)
    info = closed.set_index("deal_id")
    frame = pd.DataFrame(
        {
            "deal_id": deal_id,
            "organisation_id": info["organisation_id"].reindex(deal_id).to_numpy(object),
            "at": at_all,
            "amount": info["amount"].reindex(deal_id).to_numpy(np.float64),
            "won": labels.set_axis(closed["deal_id"]).reindex(deal_id).to_numpy(bool),
        }
    )
    attrs = deal_attributes(cut, frame["deal_id"], frame["at"])
    frame = pd.concat([frame, attrs], axis=1)
    return _with_features(cut, frame, times, extractors)
