"""Ranking metrics on hand-computed cases, the baselines, and the recommendations demo section."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from b2bclient import ClientBase, InvalidParameterError, UnknownIdError
from b2bclient.datasets import make_client_base
from b2bclient.recommend._common import top_k
from b2bclient.recommend.metrics import (
    copresence_partners,
    coverage,
    future_links,
    future_purchases,
    informed_random_pair_recall,
    map_at_k,
    ndcg_at_k,
    pair_recall_at_k,
    partners_of_partners,
    past_purchases,
    popular_partners,
    popular_products,
    precision_at_k,
    random_partners_in_industry,
    random_products_in_industry,
    ranking_metrics,
    recall_at_k,
)

REC = pd.DataFrame(
    {
        "organisation_id": ["A", "A", "A", "B", "B", "B"],
        "rank": [1, 2, 3, 1, 2, 3],
        "product_id": ["x", "y", "z", "x", "y", "z"],
    }
)
REL = pd.DataFrame({"organisation_id": ["A", "A", "B", "C"], "product_id": ["y", "w", "x", "x"]})


def test_metrics_by_hand() -> None:
    # A: hit at rank 2 of relevant {y, w}; B: hit at rank 1 of {x}; C: no recommendations.
    assert precision_at_k(REC, REL, 3) == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert recall_at_k(REC, REL, 3) == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert map_at_k(REC, REL, 3) == pytest.approx(((1 / 2) / 2 + 1 / 1 + 0) / 3)
    idcg_a = 1 + 1 / np.log2(3)
    assert ndcg_at_k(REC, REL, 3) == pytest.approx(((1 / np.log2(3)) / idcg_a + 1 + 0) / 3)
    assert precision_at_k(REC, REL, 1) == pytest.approx((0 + 1 + 0) / 3)
    table = ranking_metrics(REC, REL, 3, catalogue=["x", "y", "z", "w"])
    assert table["coverage"] == 0.75 and table["organisations"] == 3
    assert table["map@3"] == pytest.approx(map_at_k(REC, REL, 3))


def test_metric_edge_cases() -> None:
    assert np.isnan(precision_at_k(REC, REL.iloc[:0], 3))
    assert coverage(REC, ["x", "q"], k=1) == 0.5
    with pytest.raises(InvalidParameterError, match="'k'"):
        map_at_k(REC, REL, 0)
    with pytest.raises(InvalidParameterError, match="share an item column"):
        map_at_k(REC, REL.rename(columns={"product_id": "sku"}), 3)
    assert (
        map_at_k(
            REC.rename(columns={"product_id": "sku"}),
            REL.rename(columns={"product_id": "sku"}),
            3,
            item="sku",
        )
        > 0
    )
    with pytest.raises(InvalidParameterError, match="lacks the columns"):
        recall_at_k(REC.drop(columns="rank"), REL, 3)
    with pytest.raises(InvalidParameterError, match="must be a DataFrame"):
        recall_at_k([1, 2], REL, 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        coverage(REC, [], 3)


def test_pair_recall_counts_either_side() -> None:
    matches = pd.DataFrame(
        {"organisation_id": ["A", "C", "D"], "rank": [1, 3, 11], "partner_id": ["B", "A", "E"]}
    )
    pairs = pd.DataFrame({"organisation_id": ["B", "A", "D"], "partner_id": ["A", "C", "E"]})
    assert pair_recall_at_k(matches, pairs, k=10) == pytest.approx(2 / 3)
    assert pair_recall_at_k(matches, pairs, k=11) == 1.0
    assert pair_recall_at_k(matches, pairs, k=2) == pytest.approx(1 / 3)


def test_top_k_is_exact_and_breaks_ties_by_column() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(200, 30)).astype(float)
    allowed = rng.random((200, 30)) < 0.8
    cols, vals = top_k(scores, 7, allowed)
    for r in range(200):
        ok = np.flatnonzero(allowed[r])
        expected = ok[np.lexsort((ok, -scores[r, ok]))][:7]
        got = cols[r][cols[r] >= 0]
        assert got.tolist() == expected.tolist()
        assert np.array_equal(vals[r][: len(got)], scores[r, got])
    cols, _ = top_k(np.ones((2, 3)), 5, np.ones((2, 3), dtype=bool))
    assert cols.tolist() == [[0, 1, 2, -1, -1]] * 2


@pytest.fixture(scope="module")
def base() -> ClientBase:
    return make_client_base(600, seed=3)


def test_product_baselines(base: ClientBase) -> None:
    t = "2024-07-01"
    ids = ["O-000010", "O-000020"]
    pop = popular_products(base, t, ids, k=5)
    assert pop.groupby("organisation_id").size().tolist() == [5, 5]
    assert (pop.groupby("organisation_id")["score"].diff().dropna() <= 0).all()
    owned_too = popular_products(base, t, ids, k=5, exclude_owned=False)
    assert owned_too["product_id"].nunique() == 5
    past = past_purchases(base, t, ids, k=3)
    cut = base.as_of(t)
    won = cut.deals[cut.deals["status"] == "won"]
    bought = cut.deal_lines.merge(won, on="deal_id")
    for row in past.itertuples():
        assert (
            (bought["organisation_id"] == row.organisation_id)
            & (bought["product_id"] == row.product_id)
        ).any()
    rand = random_products_in_industry(base, t, ids, k=4, random_state=1)
    assert len(rand) == 8
    pd.testing.assert_frame_equal(
        rand, random_products_in_industry(base, t, ids, k=4, random_state=1)
    )
    with pytest.raises(UnknownIdError):
        popular_products(base, t, ["NOPE"])


def test_partner_baselines(base: ClientBase) -> None:
    t = "2025-01-01"
    ids = ["O-000001", "O-000100"]
    for frame in (
        popular_partners(base, t, ids, k=4),
        random_partners_in_industry(base, t, ids, k=4),
        copresence_partners(base, t, ids, k=4),
    ):
        assert frame.columns.tolist() == ["organisation_id", "rank", "partner_id", "score"]
        assert frame.groupby("organisation_id").size().tolist() == [4, 4]
        assert (frame["organisation_id"] != frame["partner_id"]).all()
    industry = base.organisations.set_index("organisation_id")["industry"]
    rand = random_partners_in_industry(base, t, ids, k=4)
    assert (rand["organisation_id"].map(industry) == rand["partner_id"].map(industry)).all()
    pop = partners_of_partners(base, t, None, k=3)
    rel = base.relationships[base.relationships["kind"] != "parent"]
    neighbours: dict[str, set[str]] = {}
    for a, b in zip(rel["source_id"], rel["target_id"], strict=True):
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    for row in pop.itertuples():
        assert neighbours[row.organisation_id] & neighbours[row.partner_id]


def test_informed_random_recall_by_hand() -> None:
    orgs = pd.DataFrame(
        {
            "organisation_id": [f"O-{i}" for i in range(8)],
            "industry": ["steel"] * 3 + ["food"] * 5,
            "region": ["west"] * 8,
            "created_at": "2023-01-01",
        }
    )
    small = ClientBase.from_frames(orgs)
    pairs = pd.DataFrame({"organisation_id": ["O-0"], "partner_id": ["O-3"]})
    # O-3 is one of 5 food organisations, O-0 one of 3 steel ones: k=2 picks.
    expected = 1 - (1 - 2 / 5) * (1 - 2 / 3)
    assert informed_random_pair_recall(small, "2024-01-01", pairs, k=2) == pytest.approx(expected)
    assert informed_random_pair_recall(small, "2024-01-01", pairs, k=10) == 1.0


def test_future_outcomes(base: ClientBase) -> None:
    new = future_purchases(base, "2024-01-01", "90D")
    every = future_purchases(base, "2024-01-01", "90D", new_only=False)
    assert len(new) < len(every)
    assert not new.duplicated().any()
    links = future_links(base, "2023-01-01", "730D")
    assert set(links.columns) == {"organisation_id", "partner_id"}
    flipped = links.rename(
        columns={"organisation_id": "partner_id", "partner_id": "organisation_id"}
    )
    assert len(links.merge(flipped)) == len(links)


def test_report_sections_print_reasons_and_write_files(tmp_path) -> None:
    from b2bclient.cli._context import Context, Printer, Progress
    from b2bclient.cli._demo_recommend import cross_sell_section, partner_section
    from b2bclient.cli._html import Report

    base, truth = make_client_base(800, seed=1, return_truth=True)
    stream = io.StringIO()
    ctx = Context(
        base=base,
        features=pd.DataFrame(),
        as_of=pd.Timestamp("2025-01-01"),
        landmark=truth.landmark,
        out=Printer(stream, Report("test")),
        progress=Progress(2, enabled=False),
        out_dir=tmp_path,
        truth=truth,
    )
    cross_sell_section(ctx)
    partner_section(ctx)
    text = stream.getvalue()
    assert "== Cross-sell as of 2025-01-01" in text and "== Partner matching" in text
    assert "Suggestions for O-" in text
    assert "  - both in region" in text or "  - site visits" in text
    assert "Hidden partner pairs found" in text
    recs = pd.read_csv(ctx.outputs["cross-sell"])
    assert recs.columns.tolist() == ["organisation_id", "rank", "product_id", "score", "reason"]
    assert len(pd.read_csv(ctx.outputs["partners"])) > 0
    assert [s.title for s in ctx.report.sections][:2] == [
        "Cross-sell as of 2025-01-01: next products and services",
        "Partner matching as of 2025-01-01: clients for each other",
    ]
