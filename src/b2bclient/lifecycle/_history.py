"""Stage histories: one row per project stage known before ``as_of``, with how and when it ended.

A project passes design -> production -> procurement -> delivery -> commissioning. Each stage it
entered is a *spell* on its own clock (days since the stage started) that ends in one of three
ways, or is still running at ``as_of`` (censored):

``moved_on``
    a later stage started (or, for the last stage recorded, the stage ended and the project was
    completed or is waiting for its next stage);
``cancelled``
    the project was cancelled in the stage while its organisation stayed active;
``organisation_lost``
    the project was cancelled in the stage and its organisation, active before, has recorded
    nothing since (no interaction, deal, project, contract or contact from the cancellation up
    to ``as_of``): the project ended with the client relationship.

A spell that started before its project was recorded (``started_at`` before the project's
``created_at``, or before the start of the fitting window) enters the risk set late: its
``entry`` is the days already spent in the stage then (delayed entry, left truncation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._covariates import (
    COVARIATES,
    DEFAULT_COVARIATES,
    _ns,
    project_covariates,
    window_counts,
)

__all__ = ["OUTCOMES", "activity_events", "spells", "stage_history", "within_window"]

#: How a stage spell ends; ``running`` is censored at ``as_of``.
OUTCOMES = ("moved_on", "cancelled", "organisation_lost", "running")
_DAY = pd.Timedelta(days=1)
_ACTIVITY = (
    ("interactions", "occurred_at"),
    ("deals", "created_at"),
    ("projects", "created_at"),
    ("contacts", "created_at"),
    ("contracts", "started_at"),
)
_RECENT = (("interactions", "occurred_at"), ("deals", "created_at"))
_YEAR_NS = np.int64(365 * 86_400_000_000_000)


def activity_events(
    view: ClientBase, sources: tuple[tuple[str, str], ...] = _ACTIVITY
) -> tuple[np.ndarray, np.ndarray]:
    """Return organisation codes and times (int64 ns) of what organisations did, from `sources`."""
    orgs, times = [], []
    for table, column in sources:
        frame = view.tables[table]
        if len(frame) == 0:
            continue
        orgs.append(np.asarray(view.reference_positions(table, "organisation_id"), np.int64))
        times.append(_ns(frame[column].to_numpy()))
    if not orgs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(orgs), np.concatenate(times)


def spells(view: ClientBase, as_of: pd.Timestamp, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Return one row per stage spell of `view` (a base cut at `as_of`), ordered by project and stage.

    With `rows` (positions in ``view.projects``), only the spells of those projects.

    Columns: ``project_id``, ``organisation_id``, ``row`` (position of the project in
    ``view.projects``), ``stage`` (code 0-4), ``started_at``, ``ended_at`` (NaT while running),
    ``days``, ``entry_days`` (the project's ``created_at`` minus ``started_at``, at least 0),
    ``outcome`` (one of :data:`OUTCOMES`) and ``log_days_<stage>`` for every stage but the last:
    the log of the project's days in that stage when it was recorded and moved on, else NaN.
    """
    projects = view.projects
    stages = view.stages
    row = np.asarray(view.reference_positions("stages", "project_id"), dtype=np.int64)
    code = stages["stage"].cat.codes.to_numpy().astype(np.int64)
    frame = pd.DataFrame(
        {
            "row": row,
            "stage": code,
            "started_at": stages["started_at"].to_numpy(),
            "ended_at": stages["ended_at"].to_numpy(),
        }
    )
    if rows is not None:
        frame = frame[np.isin(row, rows)]
    frame = frame.sort_values(["row", "stage"], kind="stable").reset_index(drop=True)
    row = frame["row"].to_numpy()
    status = projects["status"].astype(object).to_numpy()[row]
    closed = projects["closed_at"].to_numpy()[row]
    has_next = np.zeros(len(frame), dtype=bool)
    has_next[:-1] = row[1:] == row[:-1]
    next_start = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    next_start[:-1] = frame["started_at"].to_numpy()[1:]
    ended = frame["ended_at"].to_numpy()
    # Where a stage ends: its own ended_at, else the next stage's start, else the project's close.
    end = np.where(pd.isna(ended), np.where(has_next, next_start, closed), ended)
    end = np.where(has_next | (status != "active"), end, ended)
    finished = ~pd.isna(end)
    cancelled = finished & ~has_next & (status == "cancelled")
    outcome = np.where(finished, "moved_on", "running").astype(object)
    outcome[cancelled] = "cancelled"
    lost = _lost(view, frame, row, end, cancelled, as_of)
    outcome[lost] = "organisation_lost"
    started = frame["started_at"].to_numpy()
    stop = np.where(finished, end, np.datetime64(as_of, "ns"))
    # A closed project without a closing time: its last stage ended at an unknown time, so it is
    # censored where it is last known to run, at its start.
    stop = np.where(~finished & ~has_next & (status != "active"), started, stop)
    frame["days"] = (stop - started) / np.timedelta64(1, "D")
    created = projects["created_at"].to_numpy()[row]
    frame["entry_days"] = np.maximum((created - started) / np.timedelta64(1, "D"), 0.0)
    frame["ended_at"] = np.where(finished, end, np.datetime64("NaT"))
    frame["outcome"] = pd.Categorical(outcome, categories=list(OUTCOMES))
    frame.insert(0, "project_id", projects["project_id"].to_numpy()[row])
    frame.insert(1, "organisation_id", projects["organisation_id"].to_numpy()[row])
    done = frame["outcome"].to_numpy() == "moved_on"
    days = frame["days"].to_numpy()
    for k, name in enumerate(STAGES[:-1]):
        log_days = np.full(len(projects), np.nan)
        mask = done & (frame["stage"].to_numpy() == k)
        with np.errstate(divide="ignore"):
            log_days[row[mask]] = np.log(np.maximum(days[mask], 1e-3))
        frame[f"log_days_{name}"] = np.where(frame["stage"].to_numpy() > k, log_days[row], np.nan)
    return frame


def _lost(
    view: ClientBase,
    frame: pd.DataFrame,
    row: np.ndarray,
    end: np.ndarray,
    cancelled: np.ndarray,
    as_of: pd.Timestamp,
) -> np.ndarray:
    """Return the cancelled spells whose organisation recorded nothing from the end to `as_of`."""
    out = np.zeros(len(frame), dtype=bool)
    idx = np.flatnonzero(cancelled)
    if not len(idx):
        return out
    org = np.asarray(view.reference_positions("projects", "organisation_id"), np.int64)[row[idx]]
    at = _ns(end[idx])
    e_org, e_time = activity_events(view)
    horizon = np.full(len(idx), np.int64(pd.Timestamp(as_of).value))
    after = window_counts(e_org, e_time, org, at, horizon)
    # Silence says something only about an organisation that used to be heard from: one with
    # interactions or deals in the year before the cancellation.
    r_org, r_time = activity_events(view, _RECENT)
    before = window_counts(r_org, r_time, org, at - _YEAR_NS, at)
    out[idx] = (after == 0) & (before > 0)
    return out


def stage_history(
    base: ClientBase, as_of: Any, *, covariates: Any = DEFAULT_COVARIATES
) -> pd.DataFrame:
    """Return the stage history known before `as_of`: one row per project stage, with covariates.

    This is the data :class:`LifecycleModel` fits on, for inspection or for your own survival
    models: each row is a stage a project entered before `as_of`, on the clock of days since the
    stage started.

    Parameters
    ----------
    base : ClientBase
        The client base; only rows before `as_of` are read.
    as_of : str or timestamp-like
        The point in time.
    covariates : sequence of str, default DEFAULT_COVARIATES
        Keys of :data:`~b2bclient.lifecycle.COVARIATES`, taken as of each project's start.

    Returns
    -------
    pandas.DataFrame
        Columns ``project_id``, ``organisation_id``, ``stage`` (ordered categorical),
        ``started_at``, ``ended_at`` (NaT while running), ``days`` (in the stage, up to its end or
        to `as_of`), ``entry_days`` (days already spent in the stage when the project was
        recorded: delayed entry), ``outcome`` (``moved_on``, ``cancelled``,
        ``organisation_lost`` or ``running``), ``log_days_<stage>`` (log-days the project spent
        in each earlier stage, NaN when unknown) and the covariates.

    Raises
    ------
    InvalidParameterError
        If `as_of` is not a point in time or a covariate name is unknown.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> base = make_client_base(200, seed=3)
    >>> history = stage_history(base, "2024-01-01")
    >>> history["outcome"].cat.categories.tolist()
    ['moved_on', 'cancelled', 'organisation_lost', 'running']
    >>> bool((history["days"] >= 0).all())
    True
    """
    owner = "stage_history"
    t = to_timestamp(as_of, name="as_of", owner=owner)
    names = check_covariates(covariates, name="covariates", owner=owner)
    view = base.as_of(t)
    frame = spells(view, t)
    x = project_covariates(view, np.unique(frame["row"].to_numpy()), names)
    frame = frame.join(x, on="project_id")
    frame["stage"] = pd.Categorical.from_codes(
        frame["stage"].to_numpy(), categories=list(STAGES), ordered=True
    )
    return frame.drop(columns="row")


def check_covariates(value: Any, *, name: str, owner: str) -> tuple[str, ...]:
    """Return `value` as a tuple of known covariate names, or raise naming the unknown ones."""
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a sequence of covariate names such as "
            f"{list(DEFAULT_COVARIATES[:2])}. Got {value!r} instead."
        )
    names = tuple(value)
    unknown = [n for n in names if n not in COVARIATES]
    if unknown:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} holds unknown covariates {unknown}; known are "
            f"{list(COVARIATES)}."
        )
    if len(set(names)) != len(names):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} names a covariate twice: {list(names)}."
        )
    return names


def within_window(
    history: pd.DataFrame, t: pd.Timestamp, window: Any, name: str, owner: str
) -> pd.DataFrame:
    """The spells' time at risk within `window` before `t`: later entry for those running into it."""
    start = t - to_duration(window, name=name, owner=owner)
    started = pd.DatetimeIndex(history["started_at"])
    stop = started + pd.to_timedelta(history["days"].to_numpy(), unit="D")
    out = history[(stop > start)].copy()
    late = ((start - pd.DatetimeIndex(out["started_at"])) / pd.Timedelta(days=1)).to_numpy()
    out["entry_days"] = np.maximum(out["entry_days"].to_numpy(), late)
    return out
