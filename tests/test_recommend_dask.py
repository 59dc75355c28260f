"""Scoring on Dask returns exactly the pandas engine's recommendations, on a real LocalCluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from b2bclient.base import ClientBase
from b2bclient.datasets import make_client_base
from b2bclient.recommend import CrossSell, PartnerMatcher

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def base() -> ClientBase:
    return make_client_base(n_organisations=900, seed=4)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_cross_sell_on_a_cluster_equals_pandas(base: ClientBase, client: Any) -> None:
    model = CrossSell().fit(base, "2024-07-01")
    ids = list(model.organisation_ids_[::-3])
    expected = model.recommend(ids, k=5)
    pd.testing.assert_frame_equal(model.recommend(ids, k=5, engine=client), expected)
    pd.testing.assert_frame_equal(model.recommend(ids, k=5, engine="dask", npartitions=7), expected)


def test_partner_matching_on_a_cluster_equals_pandas(base: ClientBase, client: Any) -> None:
    model = PartnerMatcher().fit(base, "2025-01-01")
    expected = model.match(None, k=5)
    pd.testing.assert_frame_equal(model.match(None, k=5, engine=client, npartitions=5), expected)


def test_dask_default_scheduler_without_a_client(base: ClientBase) -> None:
    model = CrossSell(context=False).fit(base, "2024-07-01")
    with dask.config.set(scheduler="threads"):
        from b2bclient.recommend._dask import map_partitions

        codes = model.organisation_ids_.get_indexer(model.organisation_ids_[:50])
        got = map_partitions(model, "recommend_codes", codes, (3, True), None, 4)
    pd.testing.assert_frame_equal(got, model.recommend(list(model.organisation_ids_[:50]), k=3))
