"""CrossSell: contract, bad input, cold start, reasons true of the data, persistence, point in time."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from b2bclient import ClientBase, InvalidParameterError, NotFittedError, UnknownIdError
from b2bclient.datasets import make_client_base
from b2bclient.persist import assert_same_state, roundtrip
from b2bclient.recommend import CrossSell, UnknownIdWarning
from b2bclient.recommend.metrics import (
    evaluate_temporal,
    future_purchases,
    map_at_k,
    popular_products,
)
from b2bclient.testing import EXAMPLE_AS_OF, example_base, with_future_rows

AS_OF = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def base() -> ClientBase:
    return make_client_base(1_500, seed=11)


@pytest.fixture(scope="module")
def model(base: ClientBase) -> CrossSell:
    segments = pd.Series(
        np.where(np.arange(len(base.organisations)) % 3 == 0, "a", "b"),
        index=base.organisations["organisation_id"],
    )
    return CrossSell().fit(base, AS_OF, segments=segments)


@pytest.fixture(scope="module")
def recs(model: CrossSell) -> pd.DataFrame:
    return model.recommend(None, k=10)


def test_recommend_returns_a_tidy_frame(model: CrossSell, recs: pd.DataFrame) -> None:
    assert recs.columns.tolist() == ["organisation_id", "rank", "product_id", "score", "reason"]
    assert recs["organisation_id"].nunique() == len(model.organisation_ids_)
    assert (
        recs.groupby("organisation_id")["rank"]
        .apply(list)
        .map(lambda r: r == list(range(1, 11)))
        .all()
    )
    assert (recs.groupby("organisation_id")["score"].diff().dropna() <= 0).all()
    assert not recs.duplicated(["organisation_id", "product_id"]).any()
    assert model.blend_ == "learnt" and model.n_train_positives_ > 100
    assert model.signals_ == ("similar", "popular", "industry", "segment", "stage", "attached")


def test_owned_products_are_excluded_unless_asked(
    base: ClientBase, model: CrossSell, recs: pd.DataFrame
) -> None:
    cut = base.as_of(AS_OF)
    won = cut.deals[cut.deals["status"] == "won"]
    owned = cut.deal_lines.merge(won[["deal_id", "organisation_id"]], on="deal_id")
    owned = set(zip(owned["organisation_id"], owned["product_id"], strict=True))
    pairs = set(zip(recs["organisation_id"], recs["product_id"], strict=True))
    assert not pairs & owned
    again = model.recommend(None, k=10, exclude_owned=False)
    assert set(zip(again["organisation_id"], again["product_id"], strict=True)) & owned


def test_requested_order_is_kept_and_k_is_respected(model: CrossSell) -> None:
    ids = ["O-000900", "O-000003", "O-000450"]
    out = model.recommend(ids, k=4)
    assert out["organisation_id"].drop_duplicates().tolist() == ids
    assert out.groupby("organisation_id").size().tolist() == [4, 4, 4]
    single = model.recommend("O-000003", k=4)
    pd.testing.assert_frame_equal(
        single, out[out["organisation_id"] == "O-000003"].reset_index(drop=True)
    )


def test_unknown_ids_are_reported_not_dropped(model: CrossSell) -> None:
    with pytest.raises(UnknownIdError, match=r"2 of the organisation ids .*'NOPE-1', 'NOPE-2'"):
        model.recommend(["O-000003", "NOPE-1", "NOPE-2"])
    with pytest.warns(UnknownIdWarning, match="NOPE-1"):
        out = model.recommend(["O-000003", "NOPE-1"], unknown="skip")
    assert out.attrs["unknown_ids"] == ["NOPE-1"]
    assert set(out["organisation_id"]) == {"O-000003"}
    # An organisation created after as_of is not known to the model.
    late = make_client_base(1_500, seed=11).organisations
    new_id = late.loc[late["created_at"] >= AS_OF, "organisation_id"].iloc[0]
    with pytest.raises(UnknownIdError, match=new_id):
        model.recommend([new_id])


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "10"])
def test_k_must_be_a_positive_integer(model: CrossSell, k: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"'k' parameter of CrossSell\.recommend"):
        model.recommend(["O-000003"], k=k)  # type: ignore[arg-type]


def test_bad_parameters_and_ids(base: ClientBase, model: CrossSell) -> None:
    with pytest.raises(InvalidParameterError, match="'item_model'"):
        CrossSell(item_model="svd").fit(base, AS_OF)
    with pytest.raises(InvalidParameterError, match="'l2'"):
        CrossSell(l2=-1.0).fit(base, AS_OF)
    with pytest.raises(InvalidParameterError, match="'horizon'"):
        CrossSell(horizon="-3D").fit(base, AS_OF)
    with pytest.raises(InvalidParameterError, match="'as_of'"):
        CrossSell().fit(base, None)
    with pytest.raises(InvalidParameterError, match="ClientBase"):
        CrossSell().fit(base.organisations, AS_OF)
    with pytest.raises(InvalidParameterError, match="'segments'"):
        CrossSell().fit(base, AS_OF, segments={"O-000001": "a"})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="string ids"):
        model.recommend([1, 2])
    with pytest.raises(InvalidParameterError, match="'unknown'"):
        model.recommend(["O-000003"], unknown="ignore")
    with pytest.raises(InvalidParameterError, match="'engine'"):
        model.recommend(["O-000003"], engine="spark")
    with pytest.raises(NotFittedError, match="fit"):
        CrossSell().recommend(["O-000003"])


def test_no_deals_before_as_of_is_a_clear_error(base: ClientBase) -> None:
    with pytest.raises(InvalidParameterError, match=r"has none before"):
        CrossSell().fit(base, "2020-01-02")
    orgs_only = ClientBase.from_frames(base.organisations)
    with pytest.raises(InvalidParameterError, match="has none before"):
        CrossSell().fit(orgs_only, AS_OF)


def test_short_history_falls_back_to_the_default_blend(base: ClientBase) -> None:
    short = CrossSell().fit(base, "2020-05-01")
    assert short.blend_ == "default"
    out = short.recommend(None, k=3)
    assert len(out) == 3 * len(short.organisation_ids_)


def test_cold_start_uses_industry_peers(base: ClientBase, model: CrossSell) -> None:
    cut = base.as_of(AS_OF)
    buyers = set(cut.deals.loc[cut.deals["status"] == "won", "organisation_id"])
    cold = [o for o in model.organisation_ids_ if o not in buyers]
    assert cold
    out = model.recommend(cold, k=5)
    assert len(out) == 5 * len(cold)
    assert not out["reason"].str.startswith("organisations that bought").any()
    with_industry = cut.organisations.set_index("organisation_id")["industry"].reindex(cold).notna()
    industry_reason = out["reason"].str.contains(r"of \d+ \w+ organisations before")
    assert industry_reason[out["organisation_id"].isin(with_industry[with_industry].index)].any()


@pytest.mark.parametrize("item_model", ["cosine", "ease"])
def test_item_models_and_no_context(base: ClientBase, item_model: str) -> None:
    m = CrossSell(item_model=item_model, context=False).fit(base, AS_OF)
    assert m.signals_ == ("similar", "popular")
    out = m.recommend(["O-000010", "O-000020"], k=5)
    assert len(out) == 10


def test_estimator_contract(model: CrossSell) -> None:
    params = model.get_params()
    assert params["item_model"] == "bm25" and params["context"] is True
    fresh = clone(model)
    assert not hasattr(fresh, "as_of_")
    assert fresh.set_params(n_neighbours=7).n_neighbours == 7


def test_save_and_load_give_identical_recommendations(model: CrossSell, tmp_path) -> None:
    again = roundtrip(model)
    assert_same_state(model, again)
    ids = list(model.organisation_ids_[:200])
    pd.testing.assert_frame_equal(again.recommend(ids, k=10), model.recommend(ids, k=10))
    ease = CrossSell(item_model="ease", context=False).fit(make_client_base(300, seed=1), AS_OF)
    back = roundtrip(ease, archive=True)
    pd.testing.assert_frame_equal(back.recommend(None, k=3), ease.recommend(None, k=3))


# ----------------------------------------------------------------------- reasons are true


def _facts(base: ClientBase) -> dict[str, object]:
    cut = base.as_of(AS_OF)
    won = cut.deals[cut.deals["status"] == "won"][["deal_id", "organisation_id"]]
    lines = cut.deal_lines.merge(won, on="deal_id")
    names = cut.products.set_index("product_id")["name"]
    lines["name"] = lines["product_id"].map(names)
    buyers = lines.groupby("name")["organisation_id"].apply(set)
    orgs = cut.organisations.set_index("organisation_id")
    mine = lines.groupby("organisation_id")["name"].apply(set)
    running = cut.stages[cut.stages["ended_at"].isna()]
    running = running.groupby("project_id")["stage"].apply(lambda s: set(s.astype(str)))
    deals = lines.groupby("name")["deal_id"].apply(set)
    return {
        "cut": cut,
        "lines": lines,
        "buyers": buyers,
        "orgs": orgs,
        "names": names,
        "mine": mine,
        "deals": deals,
        "projects": cut.projects.set_index("project_id"),
        "running": running,
    }


def _check_reason(row: pd.Series, facts: dict, model: CrossSell) -> str:
    reason, org, product = row["reason"], row["organisation_id"], row["product_id"]
    buyers: pd.Series = facts["buyers"]
    orgs: pd.DataFrame = facts["orgs"]
    name = facts["names"][product]
    date = AS_OF.date().isoformat()
    mine = facts["mine"].get(org, set())
    m = re.fullmatch(
        rf"organisations that bought (.+) \(as it did\) also bought it: (\d+) of (\d+) before {date}",
        reason,
    )
    if m:
        anchor = m.group(1)
        assert anchor in mine
        assert int(m.group(3)) == len(buyers[anchor])
        assert int(m.group(2)) == len(buyers[anchor] & buyers.get(name, set()))
        return "similar"
    m = re.fullmatch(rf"bought by (\d+) of (\d+) (\w+) organisations before {date}", reason)
    if m:
        industry = m.group(3)
        assert orgs.loc[org, "industry"] == industry
        peers = set(orgs.index[orgs["industry"] == industry])
        assert int(m.group(2)) == len(peers)
        assert int(m.group(1)) == len(peers & buyers.get(name, set()))
        return "industry"
    m = re.fullmatch(
        rf"bought by (\d+) of (\d+) organisations of segment '(\w+)' before {date}", reason
    )
    if m:
        assert model.segment_names_[
            model.segment_[model.organisation_ids_.get_loc(org)]
        ] == m.group(3)
        return "segment"
    m = re.fullmatch(rf"bought by (\d+) of (\d+) organisations before {date}", reason)
    if m:
        assert int(m.group(2)) == len(orgs)
        assert int(m.group(1)) == len(buyers.get(name, set()))
        return "popular"
    m = re.fullmatch(
        r"its project (.+) \((PR-\d+)\) is in (\w+); organisations with a project in (\w+) bought "
        r"it (\d+\.\d) times as often in the next 180 days",
        reason,
    )
    if m:
        project = facts["projects"].loc[m.group(2)]
        assert project["organisation_id"] == org and project["name"] == m.group(1)
        assert project["status"] == "active"
        assert m.group(3) == m.group(4) and m.group(3) in facts["running"][m.group(2)]
        assert float(m.group(5)) >= 1.0
        return "stage"
    m = re.fullmatch(r"added to (\d+) of (\d+) won deals with (.+), which it buys", reason)
    if m:
        good = m.group(3)
        assert good in mine
        with_good = facts["deals"][good]
        with_both = with_good & facts["deals"].get(name, set())
        assert (int(m.group(1)), int(m.group(2))) == (len(with_both), len(with_good))
        return "attached"
    raise AssertionError(f"unrecognised reason {reason!r}")


def test_every_reason_is_true_of_the_tables(
    base: ClientBase, model: CrossSell, recs: pd.DataFrame
) -> None:
    facts = _facts(base)
    # Every rarer kind of reason, and a sample of the common ones.
    common = recs["reason"].str.startswith(("bought by", "organisations that bought"))
    checked = pd.concat([recs[~common], recs[common].sample(400, random_state=0)])
    kinds = {_check_reason(row, facts, model) for _, row in checked.iterrows()}
    assert {"similar", "industry", "stage"} <= kinds


# ------------------------------------------------------------------- what it is worth


def test_context_beats_popularity_and_the_model_without_context(base: ClientBase) -> None:
    relevant = future_purchases(base, AS_OF, "180D")
    ids = relevant["organisation_id"].unique()
    with_context = CrossSell().fit(base, AS_OF).recommend(ids, k=10)
    without = CrossSell(context=False).fit(base, AS_OF).recommend(ids, k=10)
    popular = popular_products(base, AS_OF, ids, k=10)
    scores = {
        name: map_at_k(r, relevant, 10)
        for name, r in (("context", with_context), ("plain", without), ("popular", popular))
    }
    assert scores["context"] >= 1.2 * scores["popular"], scores
    assert scores["context"] >= 1.05 * scores["plain"], scores


def test_evaluate_temporal_reports_the_model_and_baselines(base: ClientBase) -> None:
    table = evaluate_temporal(CrossSell(), base, AS_OF, "180D", k=5)
    assert table.index.tolist() == ["model", "popularity", "random_in_industry"]
    assert set(table.columns) == {
        "precision@5",
        "recall@5",
        "map@5",
        "ndcg@5",
        "coverage",
        "organisations",
    }
    assert table.loc["model", "map@5"] > table.loc["random_in_industry", "map@5"]
    assert table["organisations"].nunique() == 1
    with pytest.raises(InvalidParameterError, match="CrossSell or a PartnerMatcher"):
        evaluate_temporal(object(), base, AS_OF)
    with pytest.raises(InvalidParameterError, match="nothing to score"):
        evaluate_temporal(CrossSell(), base, "2026-01-01")


# ------------------------------------------------------------------------ point in time


@settings(derandomize=True, deadline=None, max_examples=6, database=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 25), extreme=st.booleans())
def test_rows_at_or_after_as_of_change_nothing(seed: int, n_rows: int, extreme: bool) -> None:
    tables = with_future_rows(
        example_base().tables, EXAMPLE_AS_OF, seed=seed, n_rows=n_rows, extreme=extreme
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)
        got = CrossSell().fit(tables, EXAMPLE_AS_OF).recommend(None, k=5)
    pd.testing.assert_frame_equal(got, _example_recommendations())


_EXPECTED: list[pd.DataFrame] = []


def _example_recommendations() -> pd.DataFrame:
    if not _EXPECTED:
        cut = example_base().as_of(EXAMPLE_AS_OF)
        _EXPECTED.append(CrossSell().fit(cut, EXAMPLE_AS_OF).recommend(None, k=5))
    return _EXPECTED[0]
