"""training_frame: features at several cutoffs stacked with labels observed after each cutoff."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError, MissingDependencyError
from b2bclient._horizon import warn_beyond_data
from b2bclient._optional import import_optional
from b2bclient._time import add_duration, to_duration, to_timestamp
from b2bclient.features._build import ExtractorsLike, build_features, resolve_extractors
from b2bclient.features._frames import concat_rows
from b2bclient.features._protocol import Label

if TYPE_CHECKING:
    from b2bclient.base import ClientBase

__all__ = ["training_frame"]

#: Number of cutoffs from which a progress bar is shown when ``progress`` is None.
PROGRESS_FROM = 10


def _cutoffs(cutoffs: Any) -> list[pd.Timestamp]:
    if isinstance(cutoffs, (str, pd.Timestamp)) or not isinstance(cutoffs, Iterable):
        cutoffs = [cutoffs]
    out = sorted({to_timestamp(c, name="cutoffs", owner="training_frame") for c in cutoffs})
    if not out:
        raise InvalidParameterError(
            "The 'cutoffs' parameter of training_frame must hold at least one point in time, such "
            "as ['2024-01-01', '2024-07-01']. Got an empty sequence instead."
        )
    return out


def _progress(cutoffs: list[pd.Timestamp], progress: bool | None) -> Iterable[pd.Timestamp]:
    if progress is False or (progress is None and len(cutoffs) < PROGRESS_FROM):
        return cutoffs
    try:
        tqdm = import_optional(
            "tqdm.auto", extra="progress", purpose="training_frame(progress=True)"
        ).tqdm
    except MissingDependencyError:
        if progress is None:  # the bar is a nicety unless asked for
            return cutoffs
        raise
    bar: Iterable[pd.Timestamp] = tqdm(cutoffs, desc="training_frame", unit="cutoff")
    return bar


def training_frame(
    base: ClientBase,
    cutoffs: Any,
    label: Label,
    *,
    horizon: Any = None,
    extractors: ExtractorsLike = None,
    engine: Any = "pandas",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Stack features computed at several cutoffs with a label observed after each cutoff.

    For each cutoff ``t`` the features are ``build_features(base, t, extractors)`` (only rows
    before ``t``) and the label is observed in ``[t, t + horizon)``. Rows are the label's
    population at ``t`` (for example organisations active before ``t`` for
    :class:`NoActivity`).

    Parameters
    ----------
    base : ClientBase
        The full client base; it must cover the observation windows.
    cutoffs : sequence of str or pandas.Timestamp
        The cutoffs (sorted and de-duplicated).
    label : Label
        What to predict: :class:`NextPurchase`, :class:`WonDeal`, :class:`ProcurementReached`,
        :class:`NoActivity` or any object following the :class:`Label` protocol.
    horizon : str or pandas.Timedelta, optional
        Observation window; defaults to ``label.horizon``.
    extractors : None, str, Extractor or iterable of those
        As in :func:`build_features`.
    engine : {"pandas", "dask"} or distributed.Client
        As in :func:`build_features`.
    progress : bool, optional
        Show a tqdm progress bar; by default shown from 10 cutoffs on when tqdm is installed.

    Returns
    -------
    pandas.DataFrame
        Columns ``organisation_id``, ``cutoff``, the feature columns and ``label`` (float64);
        sorted by cutoff then organisation; a RangeIndex.

    Raises
    ------
    InvalidParameterError
        For a base that is not a ClientBase, empty or invalid cutoffs, an invalid horizon, a
        label that is not a Label, or a label indexed by organisations unknown at the cutoff.

    Warns
    -----
    UserWarning
        When the last observation window ends implausibly long after the last event recorded in
        the base (more than a week, and longer than the pace of the base makes likely; see
        :func:`b2bclient._horizon.warn_beyond_data`), so labels there are partly unobserved.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.features import NextPurchase
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B"], "created_at": ["2023-01-01"] * 2})
    >>> deals = pd.DataFrame({"organisation_id": ["A", "A", "B", "A"],
    ...     "created_at": ["2024-02-01", "2024-08-01", "2024-09-01", "2024-12-01"],
    ...     "amount": [5.0, 6.0, 7.0, 8.0]})
    >>> base = ClientBase.from_frames(orgs, deals=deals)
    >>> frame = training_frame(base, ["2024-03-01", "2024-07-01"], NextPurchase("90D"),
    ...                        extractors=["purchasing"])
    >>> frame[["organisation_id", "cutoff", "purchasing__orders_total", "label"]]
      organisation_id     cutoff  purchasing__orders_total  label
    0               A 2024-03-01                       1.0    0.0
    1               B 2024-03-01                       0.0    0.0
    2               A 2024-07-01                       1.0    1.0
    3               B 2024-07-01                       0.0    1.0
    """
    from b2bclient.base import ClientBase

    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            "The 'base' parameter of training_frame must be a b2bclient.ClientBase (build one with "
            f"ClientBase.from_frames). Got {type(base).__name__} instead."
        )
    if isinstance(label, type) or not isinstance(label, Label):
        raise InvalidParameterError(
            "The 'label' parameter of training_frame must be a label instance such as "
            f"NextPurchase('90D') or NoActivity('180D'). Got {label!r} instead."
        )
    times = _cutoffs(cutoffs)
    h = to_duration(
        label.horizon if horizon is None else horizon, name="horizon", owner="training_frame"
    )
    chosen = resolve_extractors(extractors, owner="training_frame", base=base)
    warn_beyond_data(
        base,
        add_duration(times[-1], h, name="cutoffs", owner="training_frame"),
        subject="The observation window of the last cutoff ends at",
        consequence="Labels there are partly unobserved.",
        remedy="Use earlier cutoffs or a shorter horizon.",
    )
    frames = []
    for t in _progress(times, progress):
        features = build_features(base, t, chosen, engine=engine)
        y = label.label(base, t, h)
        if not isinstance(y, pd.Series):
            raise InvalidParameterError(
                f"The label {label!r} must return a pandas Series indexed by organisation_id. "
                f"Got {type(y).__name__} instead."
            )
        y = y.sort_index()
        unknown = y.index.difference(features.index)
        if len(unknown):
            raise InvalidParameterError(
                f"The label {label!r} returned organisations not known before the cutoff {t}, "
                f"e.g. {unknown[:5].tolist()}; a label's population must be known at the cutoff."
            )
        rows = features.loc[y.index]
        rows.insert(0, "cutoff", t)
        rows.insert(0, "organisation_id", y.index.to_numpy(dtype=object))
        rows["label"] = y.to_numpy(dtype="float64")
        frames.append(rows.reset_index(drop=True))
    return concat_rows(frames).reset_index(drop=True)
