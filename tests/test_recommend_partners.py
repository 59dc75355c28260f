"""PartnerMatcher: contract, exclusions, fallbacks, reasons true of the data, persistence, point in time."""

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
from b2bclient.recommend import PartnerMatcher, UnknownIdWarning
from b2bclient.recommend._pairdata import pair_key
from b2bclient.recommend._pairs import candidate_pairs
from b2bclient.recommend.metrics import copresence_partners, evaluate_temporal, pair_recall_at_k
from b2bclient.testing import EXAMPLE_AS_OF, example_base, with_future_rows

AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def generated() -> tuple[ClientBase, object]:
    return make_client_base(3_000, seed=5, difficulty=0.25, return_truth=True)


@pytest.fixture(scope="module")
def base(generated: tuple[ClientBase, object]) -> ClientBase:
    return generated[0]


@pytest.fixture(scope="module")
def model(base: ClientBase) -> PartnerMatcher:
    return PartnerMatcher(min_links=15).fit(base, AS_OF)


@pytest.fixture(scope="module")
def matches(model: PartnerMatcher) -> pd.DataFrame:
    return model.match(None, k=10)


def test_the_pair_model_is_learnt(model: PartnerMatcher) -> None:
    assert model.model_ == "gbm"
    assert model.n_train_links_ >= 15
    comp = model.complementary_
    assert comp.loc["steel", "machinery"] and comp.loc["chemicals", "pharma"]
    assert not comp.loc["machinery", "steel"]


def test_match_returns_a_tidy_frame(model: PartnerMatcher, matches: pd.DataFrame) -> None:
    assert matches.columns.tolist() == [
        "organisation_id",
        "rank",
        "partner_id",
        "score",
        "role",
        "reasons",
    ]
    assert (matches["organisation_id"] != matches["partner_id"]).all()
    assert not matches.duplicated(["organisation_id", "partner_id"]).any()
    ranks = matches.groupby("organisation_id")["rank"].apply(list)
    assert ranks.map(lambda r: r == list(range(1, len(r) + 1))).all()
    assert ranks.map(len).max() == 10
    assert (matches.groupby("organisation_id")["score"].diff().dropna() <= 0).all()
    assert set(matches["role"]) == {"supplier", "buyer", "co-participant"}
    assert (matches["reasons"].str.len() > 0).all()


def test_roles_follow_the_learnt_complementarity(
    base: ClientBase, model: PartnerMatcher, matches: pd.DataFrame
) -> None:
    industry = base.organisations.set_index("organisation_id")["industry"]
    mine = matches["organisation_id"].map(industry)
    theirs = matches["partner_id"].map(industry)
    comp = model.complementary_
    supplies_me = [comp.loc[t, m] for m, t in zip(mine, theirs, strict=True)]
    i_supply = [comp.loc[m, t] for m, t in zip(mine, theirs, strict=True)]
    expected = np.where(supplies_me, "supplier", np.where(i_supply, "buyer", "co-participant"))
    assert (matches["role"].to_numpy() == expected).all()


def test_linked_pairs_and_holdings_are_excluded(base: ClientBase, matches: pd.DataFrame) -> None:
    rel = base.relationships
    linked = set(zip(rel["source_id"], rel["target_id"], strict=True))
    linked |= {(b, a) for a, b in linked}
    pairs = set(zip(matches["organisation_id"], matches["partner_id"], strict=True))
    assert not pairs & linked
    orgs = base.organisations.set_index("organisation_id")
    top = orgs["parent_id"].where(orgs["parent_id"].notna(), orgs.index.to_series())
    top = top.map(lambda o: orgs.loc[o, "parent_id"] if pd.notna(orgs.loc[o, "parent_id"]) else o)
    assert (matches["organisation_id"].map(top) != matches["partner_id"].map(top)).all()


def test_a_batch_gives_the_rows_of_the_whole(model: PartnerMatcher, matches: pd.DataFrame) -> None:
    ids = ["O-002001", "O-000017", "O-001200"]
    part = model.match(ids, k=10)
    assert part["organisation_id"].drop_duplicates().tolist() == ids
    whole = matches.set_index("organisation_id").loc[ids].reset_index()
    pd.testing.assert_frame_equal(part, whole)


def test_candidates_are_sparse(model: PartnerMatcher) -> None:
    data = model._data
    queries = np.arange(data.n)
    keys = candidate_pairs(
        data, model._co, model._block_groups, model._block_members, queries, data.linked
    )
    per_org = np.bincount(np.concatenate([keys // data.n, keys % data.n]), minlength=data.n)
    co_partners = np.bincount(
        np.concatenate([model._co.key // data.n, model._co.key % data.n]), minlength=data.n
    )
    n_complements = int(
        (model.complementary_ | model.complementary_.T).to_numpy().sum(axis=1).max()
    )
    bound = co_partners + model.block_size * n_complements
    # A candidate is a co-presence partner, a block member offered to it, or one it is offered to.
    assert keys.shape[0] < 0.05 * data.n * (data.n - 1) / 2
    assert (per_org[per_org > 0].mean()) < bound.mean() * 2


def test_unknown_ids_and_bad_k(model: PartnerMatcher) -> None:
    with pytest.raises(UnknownIdError, match="'NOPE'"):
        model.match(["O-000001", "NOPE"])
    with pytest.warns(UnknownIdWarning):
        out = model.match(["O-000001", "NOPE"], unknown="skip")
    assert out.attrs["unknown_ids"] == ["NOPE"]
    with pytest.raises(InvalidParameterError, match=r"'k' parameter of PartnerMatcher\.match"):
        model.match(["O-000001"], k=0)
    with pytest.raises(NotFittedError):
        PartnerMatcher().match(["O-000001"])


def test_bad_parameters(base: ClientBase) -> None:
    for params, name in (
        ({"model": "forest"}, "'model'"),
        ({"block_size": 0}, "'block_size'"),
        ({"split": 1.5}, "'split'"),
        ({"window_days": -1}, "'window_days'"),
        ({"gbm_params": [1]}, "'gbm_params'"),
    ):
        with pytest.raises(InvalidParameterError, match=name):
            PartnerMatcher(**params).fit(base, AS_OF)


def test_without_known_links_the_rule_takes_over(base: ClientBase) -> None:
    tables = dict(base.tables)
    tables["relationships"] = base.relationships[base.relationships["kind"] == "parent"]
    no_links = ClientBase(tables, validate=False)
    auto = PartnerMatcher().fit(no_links, AS_OF)
    assert auto.model_ == "rule" and auto.classifier_ is None and auto.n_links_ == 0
    assert not auto.complementary_.to_numpy().any()
    out = auto.match(["O-000100", "O-000200"], k=5)
    assert set(out["role"]) <= {"co-participant"}
    with pytest.raises(InvalidParameterError, match=r"model='gbm'.*0 between known organisations"):
        PartnerMatcher(model="gbm").fit(no_links, AS_OF)


def test_the_rule_model_scores_by_the_stated_rule(base: ClientBase) -> None:
    rule = PartnerMatcher(model="rule").fit(base, AS_OF)
    out = rule.match(["O-000050"], k=10)
    assert rule.model_ == "rule"
    for row in out.itertuples():
        visits = re.search(r"site visits on the same day (once|(\d+) times)", row.reasons)
        site = re.search(r"on the same site .*? apart(?: \((\d+) such pairs\))?", row.reasons)
        expected = (
            ("both in region" in row.reasons)
            + 3 * ((1 if visits.group(1) == "once" else int(visits.group(2))) if visits else 0)
            + 2 * ((int(site.group(1)) if site.group(1) else 1) if site else 0)
            + ("known supplier links" in row.reasons)
        )
        assert row.score == expected


def test_estimator_contract_and_persistence(model: PartnerMatcher) -> None:
    assert clone(model).get_params() == model.get_params()
    again = roundtrip(model)
    assert_same_state(model, again)
    ids = list(model.organisation_ids_[:300])
    pd.testing.assert_frame_equal(again.match(ids, k=10), model.match(ids, k=10))


# ----------------------------------------------------------------------- reasons are true


def test_every_reason_is_true_of_the_tables(base: ClientBase, matches: pd.DataFrame) -> None:
    orgs = base.organisations.set_index("organisation_id")
    projects = base.projects.set_index("project_id")
    visits = base.interactions[base.interactions["kind"] == "site_visit"]
    visit_days = visits.groupby("organisation_id")["occurred_at"].apply(
        lambda t: set(t.dt.strftime("%Y-%m-%d"))
    )
    won = base.deals[base.deals["status"] == "won"][["deal_id", "organisation_id"]]
    lines = base.deal_lines.merge(won, on="deal_id").merge(base.products, on="product_id")
    goods = lines[lines["kind"] == "good"]
    cat_counts = goods.groupby(["organisation_id", "category"]).size()
    rel = base.relationships[base.relationships["kind"] == "supplier"]
    link_industries = pd.Series(
        list(
            zip(
                rel["source_id"].map(orgs["industry"]),
                rel["target_id"].map(orgs["industry"]),
                strict=True,
            )
        )
    ).value_counts()
    date = AS_OF.date().isoformat()
    seen: set[str] = set()
    for row in matches.sample(1_500, random_state=1).itertuples():
        a, b = row.organisation_id, row.partner_id
        for reason in row.reasons.split("; "):
            if m := re.fullmatch(r"both in region (\w+)", reason):
                assert orgs.loc[a, "region"] == orgs.loc[b, "region"] == m.group(1)
                seen.add("region")
            elif m := re.fullmatch(
                r"(\w+) organisations supply (\w+) organisations: (\d+) known supplier links "
                rf"before {date}",
                reason,
            ):
                assert {orgs.loc[a, "industry"], orgs.loc[b, "industry"]} == {
                    m.group(1),
                    m.group(2),
                }
                assert int(m.group(3)) == link_industries.get((m.group(1), m.group(2)), 0)
                seen.add("industries")
            elif m := re.fullmatch(
                r"site visits on the same day (once|(\d+) times), last on (\S+)", reason
            ):
                shared = visit_days.get(a, set()) & visit_days.get(b, set())
                assert len(shared) == (1 if m.group(1) == "once" else int(m.group(2)))
                assert len(shared) != 1 or m.group(1) == "once"
                assert max(shared) == m.group(3)
                seen.add("visits")
            elif m := re.fullmatch(
                r"projects (?:on the same site (.+): |opened (\d+\.\d) days apart: )"
                r"(PR-\d+) \((\S+)\) and (PR-\d+) \((\S+)\)(?:, (\d+\.\d) days apart)?"
                r"(?: \((\d+) such pairs\))?",
                reason,
            ):
                p1, p2 = projects.loc[m.group(3)], projects.loc[m.group(5)]
                assert {p1["organisation_id"], p2["organisation_id"]} == {a, b}
                assert p1["created_at"].strftime("%Y-%m-%d") == m.group(4)
                assert p2["created_at"].strftime("%Y-%m-%d") == m.group(6)
                gap = abs(p1["created_at"] - p2["created_at"]) / pd.Timedelta(days=1)
                stated = float(m.group(2) or m.group(7))
                assert abs(gap - stated) <= 0.05 and gap < 45
                if m.group(1):
                    assert p1["name"].split(" - ")[0] == p2["name"].split(" - ")[0] == m.group(1)
                seen.add("projects")
            elif m := re.fullmatch(
                rf"(O-\d+) bought (\w+) goods on (\d+) lines before {date}, (\d+\.\d) expected "
                r"from its industry's mix, goods that buyers of (\w+) suppliers buy more than "
                r"their peers",
                reason,
            ):
                buyer, category = m.group(1), m.group(2)
                assert buyer in (a, b)
                assert int(m.group(3)) == cat_counts.get((buyer, category), 0)
                peers = goods[
                    goods["organisation_id"].map(orgs["industry"]) == orgs.loc[buyer, "industry"]
                ]
                share = (peers["category"] == category).mean()
                own = (goods["organisation_id"] == buyer).sum()
                assert abs(own * share - float(m.group(4))) <= 0.051
                assert int(m.group(3)) > float(m.group(4))
                seen.add("purchases")
            else:
                raise AssertionError(f"unrecognised reason {reason!r}")
    assert {"region", "industries", "visits", "projects"} <= seen


# ------------------------------------------------------------------- what it is worth


def test_recall_is_at_least_the_copresence_rule(
    generated: tuple[ClientBase, object], model: PartnerMatcher, matches: pd.DataFrame
) -> None:
    base, truth = generated
    pairs = truth.partner_pairs  # type: ignore[attr-defined]
    rule = copresence_partners(base, AS_OF, k=10)
    assert pair_recall_at_k(matches, pairs) >= pair_recall_at_k(rule, pairs)
    assert pair_recall_at_k(matches, pairs) > 0.5


def test_evaluate_temporal_on_links(base: ClientBase) -> None:
    table = evaluate_temporal(PartnerMatcher(), base, "2024-01-01", "365D", k=10)
    assert table.index.tolist() == ["model", "popularity", "past_links", "random_in_industry"]
    assert table.loc["model", "recall@10"] >= table.loc["random_in_industry", "recall@10"]


# ------------------------------------------------------------------------ point in time


_EXPECTED: list[pd.DataFrame] = []


def _example_matches() -> pd.DataFrame:
    if not _EXPECTED:
        cut = example_base().as_of(EXAMPLE_AS_OF)
        _EXPECTED.append(PartnerMatcher().fit(cut, EXAMPLE_AS_OF).match(None, k=5))
    return _EXPECTED[0]


@settings(derandomize=True, deadline=None, max_examples=6, database=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 25), extreme=st.booleans())
def test_rows_at_or_after_as_of_change_nothing(seed: int, n_rows: int, extreme: bool) -> None:
    tables = with_future_rows(
        example_base().tables, EXAMPLE_AS_OF, seed=seed, n_rows=n_rows, extreme=extreme
    )
    got = PartnerMatcher().fit(tables, EXAMPLE_AS_OF).match(None, k=5)
    pd.testing.assert_frame_equal(got, _example_matches())


def test_the_learnt_model_ignores_future_rows(base: ClientBase, model: PartnerMatcher) -> None:
    t = pd.Timestamp("2024-06-01")
    fitted = PartnerMatcher(min_links=15).fit(base, t)
    assert fitted.model_ == "gbm"
    tables = with_future_rows(base.tables, t, seed=3, n_rows=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = PartnerMatcher(min_links=15).fit(tables, t)
    ids = list(fitted.organisation_ids_[:400])
    pd.testing.assert_frame_equal(other.match(ids, k=10), fitted.match(ids, k=10))
    keys = pair_key(np.array([0, 1]), np.array([2, 3]), fitted._data.n)
    assert keys.tolist() == [2, fitted._data.n + 3]
