"""The Dask engine returns exactly the pandas engine's features, on a real LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from b2bclient.base import ClientBase
from b2bclient.datasets import make_client_base
from b2bclient.features import Relationships, build_features
from b2bclient.features._context import FeatureTables
from b2bclient.features._dask import compute_dask, partition_tables, resolve_engine
from b2bclient.features._groups import hierarchy

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.dask

T = pd.Timestamp("2023-03-01")


@pytest.fixture(scope="module")
def base() -> ClientBase:
    return make_client_base(n_organisations=1_200, seed=4)


@pytest.fixture(scope="module")
def expected(base: ClientBase) -> pd.DataFrame:
    return build_features(base, T)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_the_base_has_holdings_to_keep_together(base: ClientBase) -> None:
    assert base.organisations["parent_id"].notna().sum() > 20


def test_a_client_gives_exactly_the_pandas_result(
    base: ClientBase, expected: pd.DataFrame, client: Any
) -> None:
    got = build_features(base, T, engine=client)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    late = pd.Timestamp("2024-11-15")
    pd.testing.assert_frame_equal(
        build_features(base, late, engine=client), build_features(base, late), check_exact=True
    )


def test_engine_dask_uses_the_current_client(
    base: ClientBase, expected: pd.DataFrame, client: Any
) -> None:
    assert resolve_engine("dask") == ("dask", client)
    got = build_features(base, T, engine="dask", npartitions=3)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_group_rollup_on_dask(base: ClientBase, client: Any) -> None:
    pd.testing.assert_frame_equal(
        build_features(base, T, engine=client, rollup="group"),
        build_features(base, T, rollup="group"),
        check_exact=True,
    )


@pytest.mark.parametrize("npartitions", [1, 7])
def test_any_number_of_partitions_gives_the_same_result(
    base: ClientBase, expected: pd.DataFrame, client: Any, npartitions: int
) -> None:
    got = build_features(
        base,
        T,
        ["firmographics", "purchasing", "relationships"],
        engine=client,
        npartitions=npartitions,
    )
    pd.testing.assert_frame_equal(got, expected[got.columns], check_exact=True)


def test_more_partitions_than_holdings(client: Any) -> None:
    orgs = pd.DataFrame(
        {
            "organisation_id": ["A", "B", "C", "D"],
            "parent_id": [None, "A", None, "C"],
            "industry": ["steel", None, "food", "food"],
            "created_at": ["2022-01-01"] * 4,
        }
    )
    deals = pd.DataFrame(
        {"organisation_id": ["B", "D", "D"], "created_at": ["2022-05-01"] * 3, "amount": 1.0}
    )
    small = ClientBase.from_frames(orgs, deals=deals)
    got = build_features(small, T, engine=client, npartitions=50)
    pd.testing.assert_frame_equal(got, build_features(small, T), check_exact=True)
    assert got["firmographics__industry"].cat.categories.tolist() == ["food", "steel"]


def test_dask_default_scheduler_without_a_client(base: ClientBase, expected: pd.DataFrame) -> None:
    ctx = FeatureTables(base.as_of(T).tables, T)
    from b2bclient.features._build import resolve_extractors

    extractors = resolve_extractors(None)
    with dask.config.set(scheduler="threads"):
        frames = compute_dask(ctx, extractors, None, 4)
    pd.testing.assert_frame_equal(pd.concat(frames, axis=1), expected, check_exact=True)


def test_partitions_keep_holdings_and_their_rows_together(base: ClientBase) -> None:
    ctx = FeatureTables(base.as_of(T).tables, T)
    parts = partition_tables(ctx, 3)
    top, _, _ = hierarchy(ctx)
    holding = pd.Series(ctx.org_ids[top], index=ctx.org_ids)
    seen: set[str] = set()
    for part in parts:
        orgs = set(part["organisations"]["organisation_id"])
        # Every member of a holding lands where its top parent is.
        assert set(holding[list(orgs)]) <= orgs
        assert not orgs & seen
        seen |= orgs
        for name in ("deals", "interactions", "contacts", "contracts", "projects"):
            assert set(part[name]["organisation_id"]) <= orgs, name
        assert set(part["deal_lines"]["deal_id"]) <= set(part["deals"]["deal_id"])
        assert set(part["stages"]["project_id"]) <= set(part["projects"]["project_id"])
        assert "products" not in part
    assert seen == set(ctx.org_ids)
    for name in ("deals", "deal_lines", "stages", "interactions"):
        assert sum(len(p[name]) for p in parts) == len(ctx[name]), name
    # Rows keep their table order within a partition.
    positions = pd.Index(ctx["deals"]["deal_id"]).get_indexer(parts[0]["deals"]["deal_id"])
    assert np.all(np.diff(positions) > 0)


def test_a_global_extractor_runs_once_on_the_whole_base(base: ClientBase, client: Any) -> None:
    assert Relationships().tags().scope == "global"
    got = build_features(base, T, [Relationships(window="90D")], engine=client, npartitions=5)
    pd.testing.assert_frame_equal(got, build_features(base, T, [Relationships(window="90D")]))
    assert got["relationships__partners_clients"].sum() > 0
