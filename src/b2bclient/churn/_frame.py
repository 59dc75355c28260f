"""survival_frame: features before each landmark, time to churn after it, without look-ahead."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._horizon import warn_beyond_data
from b2bclient._time import to_duration, to_timestamp
from b2bclient.churn._definitions import ChurnDefinition

if TYPE_CHECKING:
    from b2bclient.base import ClientBase

__all__ = ["survival_frame"]

FeatureFunction = Callable[[Any, pd.Timestamp], pd.DataFrame]


def _landmarks(landmarks: Any, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    owner = "survival_frame"
    values: Iterable[Any]
    if isinstance(landmarks, (str, pd.Timestamp)) or not isinstance(landmarks, Iterable):
        values = [landmarks]
    else:
        values = landmarks
    stamps = [to_timestamp(v, name="landmarks", owner=owner) for v in values]
    if not stamps:
        raise InvalidParameterError(
            f"The 'landmarks' parameter of {owner} is empty; give at least one time before "
            f"as_of, such as ['2023-01-01', '2023-07-01']."
        )
    late = [s for s in stamps if s >= as_of]
    if late:
        raise InvalidParameterError(
            f"The 'landmarks' parameter of {owner} must hold times strictly before as_of "
            f"({as_of}): after a landmark the frame observes churn until as_of. Got "
            f"{[str(s) for s in late[:3]]} instead."
        )
    return pd.DatetimeIndex(sorted(set(stamps))).as_unit("ns")


def survival_frame(
    base: ClientBase,
    as_of: Any,
    definition: ChurnDefinition,
    *,
    landmarks: Any,
    features: FeatureFunction | bool | None = None,
    horizon: Any = None,
    extractors: Any = None,
) -> pd.DataFrame:
    """Build a survival training frame: features at each landmark, time to churn after it.

    For each landmark ``L`` the frame holds one row per organisation at risk at ``L`` under
    `definition` (a client that has not churned before ``L``), its features computed from the
    data before ``L``, the time from ``L`` to its churn in days (``duration``) and whether the
    churn was observed (``event``); organisations still clients at the end of the observed data
    are censored at `as_of`. Nothing at or after `as_of` is read: the base is cut there first.

    Several landmarks stack into one frame, so an organisation appears once per landmark at
    which it is at risk; those rows are not independent (split train and test by
    ``organisation_id``, for example with ``sklearn.model_selection.GroupKFold``).

    Parameters
    ----------
    base : ClientBase
        The client base.
    as_of : str or pandas.Timestamp
        End of the observed data. Required; it never defaults to now.
    definition : ChurnDefinition
        What churn means, such as ``Inactivity("180D")`` or ``ContractEnd("90D")``.
    landmarks : time or sequence of times
        Times at which organisations are described and followed from; each before `as_of`.
    features : callable, bool or None, default=None
        ``None`` computes :func:`b2bclient.features.build_features` at each landmark;
        a callable ``features(base, landmark)`` returning a DataFrame indexed by
        ``organisation_id`` replaces it; ``False`` leaves the features out. Either receives
        the base as known before the landmark (``base.as_of(landmark)``).
    horizon : str or pandas.Timedelta, optional
        Censor every row at ``landmark + horizon`` (for example to give every landmark the same
        follow-up).
    extractors : None, str, Extractor or iterable of those
        The extractors of the default features, as in
        :func:`b2bclient.features.build_features` (chosen once, on the base cut at `as_of`, so
        every landmark has the same columns).

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id``, ``landmark``, the feature columns, ``duration`` (float
        days) and ``event`` (bool); sorted by landmark and organisation, with a RangeIndex.
        Feed it to :class:`ChurnModel` with ``Surv.from_frame(frame)``.

    Raises
    ------
    InvalidParameterError
        If a landmark is not before `as_of` or the definition is not a churn definition.

    Warns
    -----
    UserWarning
        When `as_of` lies implausibly long after the last event recorded in the base (see
        :func:`b2bclient._horizon.warn_beyond_data`): the time in between would be read as
        silence, and every organisation declared churned in it.

    Examples
    --------
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.churn import Inactivity
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2020-01-01"] * 2})
    >>> deals = pd.DataFrame({"organisation_id": ["A", "A", "B"],
    ...     "created_at": ["2023-01-10", "2023-03-01", "2023-05-20"], "amount": 10.0})
    >>> base = ClientBase.from_frames(orgs, deals=deals)
    >>> survival_frame(base, "2024-01-01", Inactivity("90D"),
    ...                landmarks=["2023-04-01", "2023-06-01"], features=False)
      organisation_id   landmark  duration  event
    0               A 2023-04-01      59.0   True
    1               B 2023-06-01      78.0   True
    """
    owner = "survival_frame"
    end = to_timestamp(as_of, name="as_of", owner=owner)
    if not isinstance(definition, ChurnDefinition):
        raise InvalidParameterError(
            f"The 'definition' parameter of {owner} must be a churn definition such as "
            f"Inactivity('180D'), ContractEnd('90D') or Custom(func). Got {definition!r} instead."
        )
    if not callable(getattr(base, "as_of", None)) or not hasattr(base, "tables"):
        raise InvalidParameterError(
            f"The 'base' parameter of {owner} must be a ClientBase, for example "
            f"ClientBase.from_frames(organisations, deals=deals). Got {type(base).__name__} "
            f"instead."
        )
    marks = _landmarks(landmarks, end)
    warn_beyond_data(
        base,
        end,
        subject="as_of is",
        consequence="Churn declared in that silence is not real: the event rate is overstated.",
        remedy="Use an as_of at most the end of the export, such as the day after the last event.",
    )
    window = None if horizon is None else to_duration(horizon, name="horizon", owner=owner)
    cut = base.as_of(end)
    out = definition.outcomes(cut.tables, end, marks)
    # A risk set holds only what is known at its landmark: an organisation created at or after
    # the landmark is not at risk there, whatever rows of it the definition saw.
    created = cut.organisations.set_index("organisation_id")["created_at"]
    known = out["organisation_id"].map(created).to_numpy() < out["landmark"].to_numpy()
    if not known.all():
        out = out.loc[known]
    if window is not None:
        days = window / pd.Timedelta(days=1)
        beyond = out["duration"].to_numpy() > days
        out = out.assign(
            duration=np.where(beyond, days, out["duration"].to_numpy()),
            event=out["event"].to_numpy() & ~beyond,
        )
    compute = _feature_function(features, extractors, cut)
    if compute is None:
        return out.reset_index(drop=True)
    parts = []
    for lm in marks:
        rows = out.loc[out["landmark"] == lm]
        feats = compute(cut.as_of(lm), lm)
        if not isinstance(feats, pd.DataFrame):
            raise InvalidParameterError(
                f"The 'features' function of {owner} must return a DataFrame indexed by "
                f"organisation_id. Got {type(feats).__name__} instead."
            )
        clash = sorted(set(feats.columns) & {"organisation_id", "landmark", "duration", "event"})
        if clash:
            raise InvalidParameterError(
                f"The features passed to {owner} have columns named {clash}, which the frame "
                f"uses itself; rename them."
            )
        feats = feats.reindex(pd.Index(rows["organisation_id"].to_numpy(), name="organisation_id"))
        block = pd.concat(
            [
                rows[["organisation_id", "landmark"]].reset_index(drop=True),
                feats.reset_index(drop=True),
                rows[["duration", "event"]].reset_index(drop=True),
            ],
            axis=1,
        )
        parts.append(block)
    return _concat(parts)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    # Categorical features may know different levels at different landmarks; unite them so the
    # stacked column stays categorical instead of silently becoming object.
    first = parts[0]
    for column in first.columns:
        dtypes = [p[column].dtype for p in parts]
        if not isinstance(dtypes[0], pd.CategoricalDtype) or all(d == dtypes[0] for d in dtypes):
            continue
        levels: list[Any] = []
        for d in dtypes:
            if isinstance(d, pd.CategoricalDtype):
                levels.extend(c for c in d.categories if c not in levels)
        ordered = all(isinstance(d, pd.CategoricalDtype) and d.ordered for d in dtypes)
        if not ordered:
            levels = sorted(levels, key=str)
        dtype = pd.CategoricalDtype(levels, ordered=ordered)
        parts = [p.assign(**{column: p[column].astype(dtype)}) for p in parts]
    return pd.concat(parts, ignore_index=True)


def _feature_function(features: Any, extractors: Any, base: Any) -> FeatureFunction | None:
    if extractors is not None and not (features is None or features is True):
        raise InvalidParameterError(
            "The 'extractors' parameter of survival_frame chooses b2bclient's features; it "
            "cannot be combined with a 'features' function or features=False."
        )
    if features is False:
        return None
    if features is None or features is True:
        from b2bclient.features import build_features
        from b2bclient.features._build import resolve_extractors

        chosen = resolve_extractors(extractors, owner="survival_frame", base=base)

        def default(base: Any, landmark: pd.Timestamp) -> pd.DataFrame:
            frame: pd.DataFrame = build_features(base, as_of=landmark, extractors=chosen)
            return frame

        return default
    if callable(features):
        return features  # type: ignore[no-any-return]
    raise InvalidParameterError(
        f"The 'features' parameter of survival_frame must be None (b2bclient's features), a "
        f"function features(base, landmark) returning a DataFrame indexed by organisation_id, "
        f"or False. Got {features!r} instead."
    )
