"""build_features, describe_features and the roll-up of features to holdings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.features._context import FeatureTables
from b2bclient.features._frames import run_extractors
from b2bclient.features._groups import hierarchy
from b2bclient.features._protocol import Extractor
from b2bclient.features._registry import get_extractor, list_extractors

if TYPE_CHECKING:
    from b2bclient.base import ClientBase, PartitionedClientBase

__all__ = [
    "ExtractorsLike",
    "as_base",
    "build_features",
    "describe_features",
    "empty_requirements",
    "prepare",
    "resolve_extractors",
]

#: What ``extractors=`` accepts: None (every registered extractor), names and/or instances.
ExtractorsLike: TypeAlias = "str | Extractor | Iterable[str | Extractor] | None"

_ROLLUP_MODES = (None, "organisation", "group")


def empty_requirements(extractor: Extractor, base: Any) -> list[str]:
    """Return the tables `extractor` requires that `base` was loaded without (organisations aside).

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.features import get_extractor
    >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2024-01-01"]})
    >>> empty_requirements(get_extractor("engagement"), ClientBase.from_frames(orgs))
    ['interactions', 'contacts']
    """
    absent = base.absent_tables
    return [name for name in extractor.requires if name != "organisations" and name in absent]


def resolve_extractors(
    extractors: ExtractorsLike, *, owner: str = "build_features", base: Any = None
) -> list[Extractor]:
    """Return extractor instances for an ``extractors=`` argument.

    Parameters
    ----------
    extractors : None, str, Extractor or iterable of those
        None means every registered extractor with default parameters, in registration order;
        with a `base`, those requiring a table the base was loaded without are left out (their
        columns would be zero or missing for every organisation).
    owner : str
        Function name used in error messages.
    base : ClientBase or FeatureTables, optional
        The data the default extractors are chosen for (its ``absent_tables``).

    Returns
    -------
    list of Extractor

    Raises
    ------
    InvalidParameterError
        For an item that is neither a name nor an extractor instance, or when two extractors
        write the same column.
    RegistryError
        For an unknown name.

    Examples
    --------
    >>> [e.name for e in resolve_extractors(["purchasing", "engagement"])]
    ['purchasing', 'engagement']
    """
    if extractors is None:
        items: list[Any] = list(list_extractors())
        if base is not None:
            items = [e for e in map(get_extractor, items) if not empty_requirements(e, base)]
    elif isinstance(extractors, str) or (
        not isinstance(extractors, type) and isinstance(extractors, Extractor)
    ):
        items = [extractors]
    elif isinstance(extractors, Iterable):
        items = list(cast("Iterable[Any]", extractors))
    else:
        items = [extractors]
    out: list[Extractor] = []
    for item in items:
        if isinstance(item, str):
            out.append(get_extractor(item))
        elif not isinstance(item, type) and isinstance(item, Extractor):
            out.append(item)
        else:
            hint = (
                " (an extractor class: pass an instance, e.g. Purchasing())"
                if isinstance(item, type)
                else ""
            )
            raise InvalidParameterError(
                f"The 'extractors' parameter of {owner} takes extractor names or extractor "
                f"instances. Got {item!r}{hint} instead."
            )
    seen: dict[str, str] = {}
    for e in out:
        for column in e.output_columns():
            if column in seen:
                raise InvalidParameterError(
                    f"The 'extractors' parameter of {owner} holds two extractors writing column "
                    f"{column!r} ({seen[column]} and {e!r}); give them different windows or keep one."
                )
            seen[column] = repr(e)
    return out


def as_base(base: Any, owner: str) -> ClientBase | FeatureTables:
    """Return `base` as a client base: a mapping of raw tables is validated first.

    Raises
    ------
    InvalidTablesError
        For a mapping whose tables fail validation.
    InvalidParameterError
        For anything else than a ClientBase or a mapping of tables.
    """
    from b2bclient.base import ClientBase

    if isinstance(base, (ClientBase, FeatureTables)):
        return base
    if isinstance(base, Mapping):
        # A mapping is validated like any other input: string or zoned times, duplicate ids and
        # dangling references are problems to report, not errors deep inside an extractor.
        return ClientBase(dict(base))
    raise InvalidParameterError(
        f"The 'base' parameter of {owner} must be a b2bclient.ClientBase (or a mapping of its "
        f"tables). Got {type(base).__name__} instead."
    )


def prepare(
    base: ClientBase | Mapping[str, pd.DataFrame], as_of: pd.Timestamp, owner: str
) -> FeatureTables:
    """Return the tables of `base` cut at `as_of`, cutting once (a base already cut there is reused)."""
    from b2bclient.base import ClientBase

    if isinstance(base, (ClientBase, Mapping)):
        return FeatureTables.prepare(as_base(base, owner), as_of)
    raise InvalidParameterError(
        f"The 'base' parameter of {owner} must be a b2bclient.ClientBase (or a mapping of its "
        f"tables). Got {type(base).__name__} instead."
    )


def _rollup(
    frame: pd.DataFrame, ctx: FeatureTables, extractors: Sequence[Extractor]
) -> pd.DataFrame:
    top, _, _ = hierarchy(ctx)
    groups = np.flatnonzero(np.bincount(top, minlength=ctx.n_orgs))
    rules: dict[str, str] = {}
    categorical: set[str] = set()
    for e in extractors:
        tags = e.tags()
        rules.update(tags.rollup)
        categorical |= set(tags.categorical)
    by_rule: dict[str, list[str]] = {}
    for column in frame.columns:
        rule = "first" if column in categorical else rules.get(column, "first")
        by_rule.setdefault(rule, []).append(column)
    index = ctx.org_ids[groups]
    parts = []
    grouped = frame.groupby(top, sort=True)
    for rule, columns in by_rule.items():
        if rule == "first":
            part = frame[columns].iloc[groups]
        elif rule == "sum":
            part = grouped[columns].sum(min_count=1)
        else:
            part = grouped[columns].agg(rule)
        parts.append(part.set_axis(index, axis=0))
    out = pd.concat(parts, axis=1)[list(frame.columns)]
    out.index.name = "organisation_id"
    return out


def build_features(
    base: ClientBase | PartitionedClientBase | Mapping[str, pd.DataFrame],
    as_of: Any,
    extractors: ExtractorsLike = None,
    *,
    engine: Any = "pandas",
    rollup: str | None = None,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """Return one row of features per organisation known before `as_of`.

    The base is cut once at `as_of` (``base.as_of(as_of)``: rows at or after it dropped, later
    state changes reverted) and every extractor computes from the cut tables. Organisations with
    no activity keep their row: counts and sums are 0, shares 0, times since an event and means
    NaN (see :func:`describe_features`).

    Parameters
    ----------
    base : ClientBase or PartitionedClientBase
        The client base. A mapping of tables is accepted too and validated like
        ``ClientBase(tables)`` on every call (build the ClientBase once to validate once). A
        :class:`~b2bclient.base.PartitionedClientBase` (``ClientBase.open_parquet``) is processed
        partition by partition, each partition read where it is processed (``docs/scale.md``):
        with the pandas engine the stacked result is returned, with ``engine="dask"`` or a
        client a lazy Dask DataFrame with one partition per partition of the base, sorted by
        ``organisation_id`` within each; both equal the in-memory result.
    as_of : str or pandas.Timestamp
        The cut-off; required, never defaults to now.
    extractors : None, str, Extractor or iterable of those
        Which extractors to run, by name or as configured instances; None runs every registered
        extractor with default parameters except those requiring a table the base was loaded
        without (``base.absent_tables``): an order log alone gets firmographics, purchasing
        and pipeline, not the empty columns of projects, engagement or contracts. The left-out
        ones are named in ``X.attrs["skipped_extractors"]``. Named extractors always run.
    engine : {"pandas", "dask"} or distributed.Client, default "pandas"
        ``"dask"`` runs on the current ``dask.distributed`` client if there is one, else on Dask's
        default scheduler; a ``Client`` runs on that cluster. Results equal the pandas engine's.
    rollup : {None, "organisation", "group"}
        ``"group"`` aggregates the members of each holding to one row per top parent (indexed by
        the top parent's ``organisation_id``) following each column's roll-up rule.
    npartitions : int, optional
        Number of partitions for the Dask engine (holdings are never split).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``organisation_id`` (sorted); columns ``<extractor>__<feature>`` in extractor
        order; ``float64`` except categorical firmographics.

    Raises
    ------
    InvalidParameterError
        For an invalid `as_of`, `engine`, `rollup` or `extractors`, or an extractor whose output
        breaks its declaration.
    InvalidTablesError
        For a mapping of tables that fails validation.
    RegistryError
        For an unknown extractor name.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["O-1", "O-2", "O-3"], "parent_id": [None, "O-1", None],
    ...                      "created_at": ["2023-01-01", "2023-06-01", "2024-01-01"]})
    >>> deals = pd.DataFrame({"organisation_id": ["O-1", "O-2", "O-2"],
    ...                       "created_at": ["2024-03-01", "2024-09-01", "2025-02-01"],
    ...                       "amount": [100.0, 50.0, 70.0]})
    >>> base = ClientBase.from_frames(orgs, deals=deals)
    >>> X = build_features(base, as_of="2025-01-01", extractors=["purchasing"])
    >>> X["purchasing__orders_365d"].tolist()
    [1.0, 1.0, 0.0]
    >>> build_features(base, "2025-01-01", ["purchasing"], rollup="group")["purchasing__orders_365d"]
    organisation_id
    O-1    2.0
    O-3    0.0
    Name: purchasing__orders_365d, dtype: float64
    """
    t = to_timestamp(as_of, name="as_of", owner="build_features")
    if rollup not in _ROLLUP_MODES:
        raise InvalidParameterError(
            "The 'rollup' parameter of build_features must be None, 'organisation' or 'group'. "
            f"Got {rollup!r} instead."
        )
    if npartitions is not None and (
        isinstance(npartitions, bool) or not isinstance(npartitions, int) or npartitions < 1
    ):
        raise InvalidParameterError(
            "The 'npartitions' parameter of build_features must be a positive integer. "
            f"Got {npartitions!r} instead."
        )
    from b2bclient.base import PartitionedClientBase
    from b2bclient.features._dask import compute_dask, resolve_engine

    kind, client = resolve_engine(engine)
    if isinstance(base, PartitionedClientBase):
        from b2bclient.features._partitioned import partitioned_features

        chosen = resolve_extractors(extractors, base=base)
        result = partitioned_features(base, t, chosen, engine, rollup)
        if isinstance(result, pd.DataFrame):
            result.attrs["skipped_extractors"] = _skipped(extractors, base)
        return result
    ctx = prepare(base, t, "build_features")
    # Default extractors follow the tables the base was loaded with (kept by as_of), so the full
    # base and the base cut at as_of give the same columns.
    chosen = resolve_extractors(extractors, base=ctx)
    skipped = _skipped(extractors, ctx)
    if kind == "pandas":
        frames = run_extractors(ctx, chosen)
    else:
        frames = compute_dask(ctx, chosen, client, npartitions)
    frame = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=ctx.org_ids)
    frame.index.name = "organisation_id"
    if rollup == "group":
        frame = _rollup(frame, ctx, chosen)
    frame.attrs["skipped_extractors"] = skipped
    return frame


def _skipped(extractors: ExtractorsLike, base: Any) -> dict[str, list[str]]:
    """Return the default extractors left out for the tables `base` was loaded without."""
    if extractors is not None:
        return {}
    return {
        e.name: empty_requirements(e, base)
        for e in resolve_extractors(None)
        if empty_requirements(e, base)
    }


def describe_features(extractors: ExtractorsLike = None) -> pd.DataFrame:
    """Return a table describing every feature column the extractors write.

    Parameters
    ----------
    extractors : None, str, Extractor or iterable of those
        As in :func:`build_features`; None describes every registered extractor.

    Returns
    -------
    pandas.DataFrame
        One row per column, in :func:`build_features` order, with columns ``column``,
        ``extractor``, ``description`` and ``dtype``.

    Examples
    --------
    >>> table = describe_features(["contracts"])
    >>> table.iloc[2].tolist()[:2], table.iloc[2]["dtype"]
    (['contracts__active', 'contracts'], 'float64')
    """
    rows = []
    for e in resolve_extractors(extractors, owner="describe_features"):
        descriptions = e.describe()
        tags = e.tags()
        for column in e.output_columns():
            rows.append(
                {
                    "column": column,
                    "extractor": e.name,
                    "description": descriptions[column],
                    "dtype": tags.dtype(column),
                }
            )
    return pd.DataFrame(rows, columns=["column", "extractor", "description", "dtype"])
