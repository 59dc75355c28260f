"""build_features on a :class:`~b2bclient.base.PartitionedClientBase`, partition by partition.

Every extractor of scope ``"organisation"`` is a pure function of the rows of a holding, so it
runs on each partition alone, read where it runs. The one built-in extractor with scope
``"global"``, :class:`~b2bclient.features.Relationships`, looks across holdings: a link may join
organisations of two partitions, and whether the other end is known and a client depends on
that partition's rows. It runs in three explicit steps:

1. map: each partition returns the organisations it knows before ``as_of`` (id, created_at, has
   it bought) and its links that leave the partition;
2. reduce: one task stacks them (one small row per organisation, one row per link between
   partitions);
3. map: each partition computes the extractor on its own rows, its internal links and the
   links that touch it, with the other ends standing for themselves (known, and a client or
   not), so the result equals the in-memory one exactly.

A user extractor of scope ``"global"`` has no such reduce and is refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base import ClientBase, PartitionedClientBase
from b2bclient.base._engine import import_dask, resolve_engine
from b2bclient.base._layout import partition_file, read_partition
from b2bclient.features._context import FeatureTables
from b2bclient.features._extractors.relationships import Relationships
from b2bclient.features._frames import concat_rows, run_extractors
from b2bclient.features._protocol import Extractor

__all__ = ["check_partitionable", "partitioned_features"]


def _linked(e: Extractor) -> bool:
    """Return whether `e` is the built-in relationships extractor (not a subclass), whose reduce
    step this module implements."""
    return type(e) is Relationships


def _check_extractors(extractors: Sequence[Extractor]) -> None:
    for e in extractors:
        if e.tags().scope != "organisation" and not _linked(e):
            raise InvalidParameterError(
                f"The extractor {e.name!r} has scope 'global' (statistics across organisations) "
                f"and no reduce step for a partitioned base; build its features on an in-memory "
                f"base (pbase.to_client_base()) or leave it out of 'extractors'."
            )


def check_partitionable(extractors: Any, owner: str) -> None:
    """Refuse the extractors a model reads if a partition alone cannot compute them.

    A model scored partition by partition builds its features on each partition; an extractor
    of scope ``"global"`` (the built-in ``relationships`` included: its reduce belongs to
    ``build_features``) would see only that partition's organisations and give other numbers.

    Raises
    ------
    InvalidParameterError
        Naming the extractor and `owner`.

    Examples
    --------
    >>> check_partitionable(["purchasing", "contracts"], "example")
    >>> check_partitionable(["relationships"], "example")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    b2bclient._exceptions.InvalidParameterError: example reads the features of the extractor 'relationships', ...
    """
    from b2bclient.features._build import resolve_extractors

    for e in resolve_extractors(extractors, owner=owner):
        if e.tags().scope != "organisation":
            raise InvalidParameterError(
                f"{owner} reads the features of the extractor {e.name!r}, of scope 'global' "
                f"(it looks across organisations): on one partition it would see only that "
                f"partition's organisations and give other numbers, so a partitioned base cannot "
                f"be scored with it. Fit the model with extractors of scope 'organisation' "
                f"(every built-in one but 'relationships'), or score an in-memory base."
            )


def _link_summary(pbase: PartitionedClientBase, i: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map step 1: the organisations partition `i` knows (client or not) and its outgoing links.

    Reads four columns of two tables. A client has a deal won, created and closed (or, without
    a closing time, created) before ``as_of``: what ``FeatureTables.purchases`` counts on the
    base cut at ``as_of``.
    """
    t = pbase.known_before
    assert t is not None
    frames = read_partition(pbase.path, i, ("organisations",))
    orgs = frames["organisations"][["organisation_id", "created_at"]]
    orgs = orgs.loc[(orgs["created_at"] < t).to_numpy()].reset_index(drop=True)
    deals = pd.read_parquet(
        partition_file(pbase.path, "deals", i),
        columns=["organisation_id", "status", "created_at", "closed_at"],
    )
    bought = deals["closed_at"].fillna(deals["created_at"])
    won = (
        (deals["status"].astype(object) == "won")
        & (deals["created_at"] < t)
        & (deals["closed_at"].isna() | (deals["closed_at"] < t))
        & (bought < t)
    )
    clients = deals.loc[won.to_numpy(), "organisation_id"]
    status = orgs.assign(is_client=orgs["organisation_id"].isin(clients).to_numpy())
    return status, pbase.links(i)


def _reduce_links(
    summaries: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reduce: stack every partition's known organisations and links between partitions."""
    status = pd.concat([s for s, _ in summaries], ignore_index=True).set_index("organisation_id")
    links = pd.concat([lk for _, lk in summaries], ignore_index=True)
    return status, links


def _stub_tables(
    ctx: FeatureTables, status: pd.DataFrame, links: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Return the partition's tables plus the other ends of its links between partitions.

    An organisation of another partition enters with its id and created_at, and, when it is a
    client, with one won deal just before ``as_of``: exactly what the relationships extractor
    reads of it.
    """
    own = ctx.org_ids
    rel = ctx["relationships"]
    touching = links["source_id"].isin(own) | links["target_id"].isin(own)
    cross = links.loc[touching.to_numpy()]
    others = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    cross["source_id"].to_numpy(dtype=object),
                    cross["target_id"].to_numpy(dtype=object),
                ]
            )
        )
    )
    others = others[~others.isin(own) & others.isin(status.index)]
    outer = status.loc[others]
    orgs = pd.concat(
        [
            ctx["organisations"][["organisation_id", "created_at"]],
            pd.DataFrame(
                {
                    "organisation_id": others.to_numpy(dtype=object),
                    "created_at": outer["created_at"].to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    clients = others[outer["is_client"].to_numpy(dtype=bool)]
    just_before = ctx.as_of - pd.Timedelta(1, "ns")
    stub_deals = pd.DataFrame(
        {
            "deal_id": [f"stub-{k}" for k in range(len(clients))],
            "organisation_id": clients.to_numpy(dtype=object),
            "created_at": pd.Series([just_before] * len(clients), dtype="datetime64[ns]"),
            "closed_at": pd.Series([just_before] * len(clients), dtype="datetime64[ns]"),
            "status": pd.Categorical(["won"] * len(clients), categories=["open", "won", "lost"]),
            "amount": np.zeros(len(clients)),
        }
    )
    own_deals = ctx["deals"][list(stub_deals.columns)].astype(
        {"status": stub_deals["status"].dtype}
    )
    return {
        "organisations": orgs,
        "deals": pd.concat([own_deals, stub_deals], ignore_index=True),
        "relationships": pd.concat(
            [rel, cross[list(rel.columns)].astype(rel.dtypes.to_dict())], ignore_index=True
        ),
    }


def _features_of_partition(
    pbase: PartitionedClientBase,
    i: int,
    extractors: Sequence[Extractor],
    reduced: tuple[pd.DataFrame, pd.DataFrame] | None,
    rollup: str | None,
) -> pd.DataFrame:
    """Map step 3 (or the only step): the features of partition `i`'s organisations."""
    from b2bclient.features._build import _rollup

    base = pbase.partition(i)
    t = pbase.known_before
    assert t is not None
    ctx = FeatureTables.prepare(base, t)
    local = [e for e in extractors if not _linked(e)]
    computed = dict(zip(map(id, local), run_extractors(ctx, local), strict=True))
    linked = [e for e in extractors if _linked(e)]
    if linked:
        assert reduced is not None
        wide = FeatureTables(_stub_tables(ctx, *reduced), t)
        for e, frame in zip(linked, run_extractors(wide, linked), strict=True):
            computed[id(e)] = frame.reindex(ctx.org_ids)
    frames = [computed[id(e)] for e in extractors]
    frame = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=ctx.org_ids)
    frame.index.name = "organisation_id"
    if rollup == "group":
        frame = _rollup(frame, ctx, extractors)
    return frame


def _meta(extractors: Sequence[Extractor], t: pd.Timestamp) -> pd.DataFrame:
    """Return the empty frame Dask describes the result with (columns and dtypes)."""
    ctx = FeatureTables.prepare(
        ClientBase.from_frames(pd.DataFrame({"organisation_id": [], "created_at": []})), t
    )
    frames = run_extractors(ctx, extractors)
    frame = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=ctx.org_ids)
    frame.index.name = "organisation_id"
    return frame


def partitioned_features(
    pbase: PartitionedClientBase,
    t: pd.Timestamp,
    extractors: Sequence[Extractor],
    engine: Any,
    rollup: str | None,
) -> Any:
    """Return the features of every partition: a pandas frame, or a lazy Dask DataFrame."""
    _check_extractors(extractors)
    view = pbase.as_of(t)
    kind, _client = resolve_engine(engine)
    n = view.n_partitions
    needs_links = any(_linked(e) for e in extractors)
    if kind == "pandas":
        reduced = _reduce_links([_link_summary(view, i) for i in range(n)]) if needs_links else None
        parts = [_features_of_partition(view, i, extractors, reduced, rollup) for i in range(n)]
        return concat_rows(parts).sort_index()
    dask = import_dask()
    import dask.dataframe as dd

    reduced_d = None
    if needs_links:
        summary = dask.delayed(_link_summary, pure=False)
        reduced_d = dask.delayed(_reduce_links, pure=False)([summary(view, i) for i in range(n)])
    task = dask.delayed(_features_of_partition, pure=False)
    parts = [task(view, i, extractors, reduced_d, rollup) for i in range(n)]
    # Categories depend on each partition's data: Dask's meta leaves them unknown (string).
    meta = dd.utils.clear_known_categories(_meta(extractors, t))  # type: ignore[no-untyped-call]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)
