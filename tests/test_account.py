"""The account view: portraits, their schema, the Models bundle, the health score."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b2bclient as bc
from b2bclient.account import HealthScore, Measure, Models, Portrait, portrait, portraits
from b2bclient.datasets import make_client_base
from b2bclient.persist import roundtrip

jsonschema = pytest.importorskip("jsonschema")

AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def base():
    return make_client_base(2_000, seed=3)


def every_part():
    """Every part, default and opt-in, with a segmenter of fixed size (cheap to fit)."""
    from b2bclient.account import SegmentMembership, all_parts
    from b2bclient.segment import Segmenter

    segment = SegmentMembership(model=Segmenter(n_segments=4, random_state=0))
    return [segment if p.name == "segment" else p for p in all_parts()]


ALL_SECTIONS = {
    "features",
    "churn",
    "value",
    "health",
    "segment",
    "cross_sell",
    "partners",
    "lifecycle",
    "wallet",
    "pipeline",
}


@pytest.fixture(scope="module")
def models(base):
    return Models.fit(base, AS_OF, parts=every_part())


@pytest.fixture(scope="module")
def documents(base, models):
    return [
        json.loads(line)
        for line in portraits(base, as_of=AS_OF, models=models, format="jsonl").splitlines()
    ]


def test_every_portrait_validates_against_the_schema(base, models, documents):
    validator = jsonschema.Draft202012Validator(
        Portrait.json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    jsonschema.Draft202012Validator.check_schema(Portrait.json_schema())
    known = base.organisations["created_at"] < AS_OF
    assert len(documents) == int(known.sum()) > 1_500
    for doc in documents:
        errors = list(validator.iter_errors(doc))
        assert not errors, (doc["organisation_id"], errors[0].message)
    assert set(models.names) == ALL_SECTIONS
    for name in ALL_SECTIONS:
        assert sum(name in d for d in documents) > 1_000, name
    assert sum(d["lifecycle"]["count"] > 0 for d in documents) > 100
    assert sum(d["pipeline"]["count"] > 0 for d in documents) > 50
    assert sum(len(d["partners"]["suggestions"]) > 0 for d in documents) > 100
    assert sum(d["lifecycle"]["alerts"] for d in documents) > 0
    assert "contacts" not in documents[0]


def test_portrait_holds_what_the_tables_say(base, models):
    deals = base.deals
    open_counts = deals[deals["status"] == "open"].groupby("organisation_id").size()
    oid = open_counts.idxmax()
    p = portrait(base, oid, AS_OF, models)
    assert p.organisation_id == oid
    assert p["open_deals"]["count"] == open_counts[oid]
    expected = deals.loc[(deals["organisation_id"] == oid) & (deals["status"] == "open"), "amount"]
    assert p["open_deals"]["value"] == pytest.approx(expected.sum())
    assert p["organisation"]["name"] == base.organisation(oid).name
    assert 0 <= p["health"]["score"] <= 100
    assert Portrait.from_dict(json.loads(p.to_json())) == p
    only_peers = Models(as_of=models.as_of, parts=[models.part("features")])
    with pytest.raises(bc.InvalidParameterError, match="segment"):
        # the segmenter is not in this bundle: the section is absent, never faked
        portrait(base, oid, AS_OF, only_peers)["segment"]


def test_sections_absent_without_their_part(base):
    p = portrait(base, "O-000010", AS_OF)
    assert p.names == ("organisation", "holding", "open_deals", "active_projects", "engagement")
    assert p.models_as_of is None


def test_frame_and_jsonl_agree(base, models, documents):
    ids = [d["organisation_id"] for d in documents[:50]]
    frame = portraits(base, ids, AS_OF, models)
    assert frame.index.tolist() == ids
    assert frame["health.score"].tolist() == [d["health"]["score"] for d in documents[:50]]
    assert frame["open_deals.count"].tolist() == [d["open_deals"]["count"] for d in documents[:50]]


def _personal_values(base):
    contacts = base.contacts
    values = set()
    for column in ("full_name", "email", "phone"):
        values |= {str(v) for v in contacts[column].dropna()}
    return values


def _strings(value, out):
    """Collect every string inside nested lists, dicts and arrays."""
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for v in value:
            _strings(v, out)
    return out


def _leaked(strings, personal):
    """Personal values equal to, or contained word-wise in, any of `strings`."""
    found = set()
    for s in strings:
        words = s.replace(",", " ").replace(";", " ").split()
        grams = {" ".join(words[i : i + n]) for n in range(1, 5) for i in range(len(words))}
        found |= (grams | {s}) & personal
    return found


def test_no_personal_data_by_default(base, models, documents, tmp_path):
    personal = _personal_values(base)
    assert len(personal) > 1_000
    frame = portraits(base, as_of=AS_OF, models=models)
    bc.save(models, tmp_path / "bundle")
    saved = set()
    for f in (tmp_path / "bundle").rglob("*"):
        if f.suffix == ".json":
            _strings(json.loads(f.read_text()), saved)
        elif f.suffix == ".npy":
            array = np.load(f, allow_pickle=False)
            if array.dtype.kind == "U":
                _strings(array.ravel().tolist(), saved)
    outputs = {
        "portraits": _strings(documents, set()),
        "frame": _strings(frame.to_numpy().tolist(), set(map(str, frame.columns))),
        "bundle": saved,
    }
    for name, strings in outputs.items():
        assert not _leaked(strings, personal), name
        assert not any("@" in s for s in strings), name  # no e-mail address at all
    # Opting in brings them.
    oid = base.contacts["organisation_id"].iloc[0]
    with_pd = portrait(base, oid, AS_OF, include_personal_data=True)
    assert _leaked(_strings(with_pd.to_dict(), set()), personal)


def test_models_round_trip_through_save(base, models):
    loaded = roundtrip(models)
    assert loaded.names == models.names
    ids = ["O-000003", "O-000150"]
    assert portraits(base, ids, AS_OF, loaded, format="jsonl") == portraits(
        base, ids, AS_OF, models, format="jsonl"
    )


POINT_IN_TIME_IDS = ["O-000004", "O-000077", "O-000321", "O-001500"]


def test_same_portrait_on_the_cut_base(base, models):
    expected = portraits(base, POINT_IN_TIME_IDS, AS_OF, models, format="jsonl")
    assert (
        portraits(base.as_of(AS_OF), POINT_IN_TIME_IDS, AS_OF, models, format="jsonl") == expected
    )


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**16), n_rows=st.integers(1, 60), extreme=st.booleans())
def test_future_rows_change_no_portrait(base, models, seed, n_rows, extreme):
    from b2bclient.testing import with_future_rows

    expected = portraits(base, POINT_IN_TIME_IDS, AS_OF, models, format="jsonl")
    tables = with_future_rows(base.tables, AS_OF, seed=seed, n_rows=n_rows, extreme=extreme)
    future = bc.ClientBase(tables, validate=False)
    assert portraits(future, POINT_IN_TIME_IDS, AS_OF, models, format="jsonl") == expected


def test_bad_input_gives_clear_errors(base, models):
    with pytest.raises(bc.UnknownIdError, match="O-999999"):
        portrait(base, "O-999999", AS_OF, models)
    late = base.organisations.sort_values("created_at")["organisation_id"].iloc[-1]
    with pytest.raises(bc.UnknownIdError, match="created at or after"):
        portrait(base, late, "2021-01-01")
    with pytest.raises(bc.InvalidParameterError, match="precedes the data"):
        portrait(base, "O-000001", "2019-01-01")
    with pytest.raises(bc.InvalidParameterError, match="fitted as of 2025-01-01"):
        portrait(base, "O-000001", "2024-06-01", models)
    with pytest.raises(bc.InvalidParameterError, match="precedes the data"):
        Models.fit(base, "2019-01-01")
    with pytest.raises(bc.InvalidParameterError, match="format"):
        portraits(base, None, AS_OF, format="xml")
    with pytest.raises(bc.InvalidParameterError, match="never"):
        portraits(base, ["O-000001"])
    with pytest.raises(bc.InvalidParameterError, match="more than once"):
        portraits(base, ["O-000001", "O-000001"], AS_OF)


@pytest.mark.dask
def test_dask_local_cluster_gives_the_same_portraits():
    distributed = pytest.importorskip("distributed")
    small = make_client_base(300, seed=5)
    bundle = Models.fit(small, AS_OF, parts=every_part())
    assert set(bundle.names) == ALL_SECTIONS
    expected = portraits(small, as_of=AS_OF, models=bundle, format="jsonl")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = portraits(
            small, as_of=AS_OF, models=bundle, format="jsonl", engine=client, npartitions=3
        )
    assert got == expected
    frame = portraits(small, as_of=AS_OF, models=bundle, engine="dask", npartitions=4)
    pd.testing.assert_frame_equal(frame, portraits(small, as_of=AS_OF, models=bundle))


def test_health_score_calibration(base, models):
    health = models.part("health")
    assert health.weights_.sum() == pytest.approx(1.0)
    red, green = health.cutoffs_
    assert 0 <= red <= green <= 100
    rates = health.band_churn_rate_
    assert rates["red"] > rates["green"]
    scored = health.score(base, AS_OF, churn=models.part("churn"))
    assert scored["band"].isin(["red", "yellow", "green"]).all()
    assert scored["score"].between(0, 100).all()
    np.testing.assert_allclose(
        scored["trend"], scored["score"] - scored["previous_score"], equal_nan=True
    )


def test_health_score_with_fitted_weights_and_fixed_bands(base):
    measures = (
        Measure(name="tickets", columns=("engagement__tickets_365d",), direction=-1),
        Measure(name="orders", columns=("purchasing__orders_365d",), direction=1),
    )
    health = HealthScore(measures=measures, weights="auto", bands=(30.0, 70.0)).fit(base, AS_OF)
    assert health.cutoffs_ == (30.0, 70.0)
    assert set(health.weights_.index) == {"tickets", "orders"}
    assert (health.weights_ >= 0.05 / 1.1).all()
    with pytest.raises(bc.InvalidParameterError, match="bands"):
        HealthScore(bands=(80.0, 20.0)).fit(base, AS_OF)
    with pytest.raises(bc.InvalidParameterError, match="weights"):
        HealthScore(weights={"nope": 1.0}).fit(base, AS_OF)


def test_top_level_names():
    assert bc.portrait is portrait and bc.portraits is portraits
    assert bc.Models is Models and bc.HealthScore is HealthScore and bc.Portrait is Portrait


def test_a_new_part_joins_the_portraits_without_touching_the_core():
    """The example part of docs/account.md, run as written there."""
    from b2bclient.account._protocol import PART_SCHEMAS

    text = (Path(__file__).parents[1] / "docs" / "account.md").read_text()
    code = text.split("A part in about thirty lines")[1].split("```python\n")[1].split("```")[0]
    saved = dict(PART_SCHEMAS)
    small = make_client_base(300, seed=6)
    namespace = {"base": small, "as_of": AS_OF, "__name__": "b2bclient_example"}
    try:
        exec(compile(code, "docs/account.md", "exec"), namespace)
        models = namespace["models"]
        assert models.names == ("segment",)
        docs = [
            json.loads(line)
            for line in portraits(small, None, AS_OF, models, format="jsonl").splitlines()
        ]
        validator = jsonschema.Draft202012Validator(Portrait.json_schema())
        assert all(validator.is_valid(d) for d in docs)
        assert {d["segment"]["segment"] for d in docs} <= set(range(4))
        assert Portrait.json_schema()["properties"]["segment"]["required"] == ["segment"]
    finally:
        PART_SCHEMAS.clear()
        PART_SCHEMAS.update(saved)


def test_holding_rollup_and_movers(documents):
    by_top = {}
    for d in documents:
        by_top.setdefault(d["health"]["holding"]["top_parent_id"], []).append(d)
    groups = [members for members in by_top.values() if len(members) > 1]
    assert groups, "the base has holdings"
    for members in groups:
        weights = np.array([1.0 + _feature(m, "purchasing__orders_365d") for m in members])
        scores = np.array([m["health"]["score"] for m in members])
        rolled = {m["health"]["holding"]["score"] for m in members}
        assert len(rolled) == 1
        assert rolled.pop() == pytest.approx(float(weights @ scores / weights.sum()), abs=0.02)
        assert {m["health"]["holding"]["members"] for m in members} == {len(members)}
    moved = [d for d in documents if d["health"]["movers"]]
    assert moved
    for d in moved:
        changes = [abs(m["change"]) for m in d["health"]["movers"]]
        assert changes == sorted(changes, reverse=True) and min(changes) >= 0.5


def _feature(document, name):
    return next(f["value"] for f in document["features"]["features"] if f["name"] == name)


def test_progress_reports_each_part(base):
    from b2bclient.account import PeerFeatures

    calls = []
    Models.fit(base, AS_OF, parts=[PeerFeatures()], progress=lambda *a: calls.append(a))
    assert calls == [("features", 1, 1)]
    pytest.importorskip("tqdm")
    assert Models.fit(base, AS_OF, parts=[PeerFeatures()], progress=True).names == ("features",)
    with pytest.raises(bc.InvalidParameterError, match="progress"):
        Models.fit(base, AS_OF, parts=[PeerFeatures()], progress="yes")
    with pytest.raises(bc.InvalidParameterError, match="share the names"):
        Models.fit(base, AS_OF, parts=[PeerFeatures(), PeerFeatures()])


def test_unfittable_parts_are_skipped_on_request_never_faked():
    tiny = make_client_base(50, seed=0)
    with pytest.raises(bc.InvalidParameterError, match="needs at least"):
        Models.fit(tiny, AS_OF)
    models = Models.fit(tiny, AS_OF, errors="skip")
    assert models.skipped and not set(models.skipped) & set(models.names)
    assert "HealthScore" in models.skipped["health"]
    assert "features" in models.names
    oid = tiny.organisations["organisation_id"].iloc[0]
    p = portrait(tiny, oid, AS_OF, models)
    assert not set(models.skipped) & set(p.names) and "features" in p.names
    assert roundtrip(models).skipped == models.skipped
    with pytest.raises(bc.InvalidParameterError, match="errors"):
        Models.fit(tiny, AS_OF, errors="ignore")


def _by_id(documents):
    return {d["organisation_id"]: d for d in documents}


def test_new_parts_show_what_their_models_say(base, models, documents):
    docs = _by_id(documents)
    lifecycle = models.part("lifecycle").model_
    forecast = lifecycle.predict(base, AS_OF).set_index("project_id")
    shown = {
        p["project_id"]: p
        for d in documents
        if "lifecycle" in d
        for p in d["lifecycle"]["projects"]
    }
    assert len(shown) > 100
    for pid, p in shown.items():
        assert p["p_procurement_90d"] == pytest.approx(
            forecast.at[pid, "p_procurement_90d"], abs=1e-4
        )
        assert p["stage"] == forecast.at[pid, "stage"]
    counts = forecast.groupby("organisation_id").size()
    assert all(docs[o]["lifecycle"]["count"] == n for o, n in counts.items())
    alerts = lifecycle.alerts(base, AS_OF, within="90D", min_probability=0.5)
    flagged = {p["project_id"]: p["reason"] for p in shown.values() if p["alert"]}
    expected = dict(zip(alerts["project_id"], alerts["reason"], strict=True))
    assert flagged == {k: v for k, v in expected.items() if k in shown} and flagged

    win = models.part("pipeline").model_
    p_win = win.predict_proba(base, as_of=AS_OF)
    deals = [deal for d in documents for deal in d["pipeline"]["deals"]]
    assert len(deals) > 100
    for deal in deals:
        assert deal["p_win"] == pytest.approx(p_win[deal["deal_id"]], abs=1e-4)
        assert deal["p_won"] <= deal["p_win"] + 1e-9

    wallet = models.part("wallet").model_
    for oid in list(docs)[:300]:
        assert docs[oid]["wallet"]["potential"] == pytest.approx(
            wallet.potential_[oid], rel=1e-6, abs=0.01
        )

    ids = list(docs)[:40]
    recs = models.part("cross_sell").model_.recommend(ids, k=5)
    for oid, rows in recs.groupby("organisation_id"):
        got = [s["product_id"] for s in docs[oid]["cross_sell"]["suggestions"]]
        assert got == rows["product_id"].tolist()
    matches = models.part("partners").model_.match(ids, k=5)
    for oid, rows in matches.groupby("organisation_id"):
        got = [s["partner_id"] for s in docs[oid]["partners"]["suggestions"]]
        assert got == rows["partner_id"].tolist()

    segment = models.part("segment")
    X = bc.features.build_features(base, AS_OF, list(bc.account._ranks.ORGANISATION_EXTRACTORS))
    predicted = segment.model_.predict(X[list(segment.model_.feature_names_in_)])
    got = [docs[o]["segment"]["segment"] for o in X.index]
    assert got == predicted.tolist()
    assert {docs[o]["segment"]["label"] for o in X.index} == set(segment.labels_.values())


def test_a_later_portrait_leaves_out_what_was_bought_since(base, models):
    later = pd.Timestamp("2025-07-01")
    docs = _by_id(
        json.loads(line)
        for line in portraits(
            base, [*POINT_IN_TIME_IDS, "O-000010", "O-000020"], later, models, format="jsonl"
        ).splitlines()
    )
    cut = base.as_of(later)
    won = cut.deals[cut.deals["status"] == "won"]
    lines = cut.deal_lines.merge(won[["deal_id", "organisation_id"]], on="deal_id")
    for oid, doc in docs.items():
        assert doc["cross_sell"]["as_of"] == AS_OF.isoformat()
        bought = set(lines.loc[lines["organisation_id"] == oid, "product_id"])
        suggested = {s["product_id"] for s in doc["cross_sell"]["suggestions"]}
        assert not suggested & bought
        assert len(suggested) == 5


def test_models_from_fitted_wraps_fitted_models_without_refitting(base, models):
    fitted = [
        models.part("features"),
        models.part("segment").model_,
        models.part("lifecycle").model_,
        models.part("pipeline").model_,
        models.part("wallet").model_,
        models.part("cross_sell").model_,
        models.part("partners").model_,
    ]
    bundle = Models.from_fitted(base, AS_OF, fitted)
    assert bundle.names == (
        "features",
        "segment",
        "lifecycle",
        "pipeline",
        "wallet",
        "cross_sell",
        "partners",
    )
    assert bundle.part("lifecycle").model_ is models.part("lifecycle").model_
    ids = POINT_IN_TIME_IDS
    mine = portraits(base, ids, AS_OF, bundle, format="portraits")
    theirs = portraits(base, ids, AS_OF, models, format="portraits")
    for a, b in zip(mine, theirs, strict=True):
        assert set(a.names) < set(b.names)
        assert all(a[name] == b[name] for name in a.names)
    assert roundtrip(bundle).names == bundle.names
    with pytest.raises(bc.InvalidParameterError, match="after the bundle's as_of"):
        Models.from_fitted(base, "2024-06-01", [models.part("lifecycle").model_])
    with pytest.raises(bc.InvalidParameterError, match="not fitted"):
        Models.from_fitted(base, AS_OF, [bc.lifecycle.LifecycleModel()])
    with pytest.raises(bc.InvalidParameterError, match="Got str"):
        Models.from_fitted(base, AS_OF, ["churn"])
    with pytest.raises(bc.InvalidParameterError, match="share the names"):
        Models.from_fitted(base, AS_OF, [models.part("lifecycle")] * 2)


def test_a_project_without_stages_gives_a_clear_error(base, models):
    tables = dict(base.tables)
    projects = tables["projects"]
    active = projects.loc[projects["status"] == "active", "project_id"].iloc[0]
    owner = projects.loc[projects["project_id"] == active, "organisation_id"].iloc[0]
    tables["stages"] = tables["stages"][tables["stages"]["project_id"] != active]
    broken = bc.ClientBase(tables)
    with pytest.raises(bc.B2BClientError, match=active):
        portrait(broken, owner, AS_OF, models)


def test_parts_refuse_bad_parameters(base):
    from b2bclient.account import CrossSellSuggestions, ProcurementForecast, WalletShare

    with pytest.raises(bc.InvalidParameterError, match="'k'"):
        CrossSellSuggestions(k=0).fit(base, AS_OF)
    with pytest.raises(bc.InvalidParameterError, match="'model'"):
        WalletShare(model=bc.lifecycle.LifecycleModel()).fit(base, AS_OF)
    with pytest.raises(bc.InvalidParameterError, match="min_probability"):
        ProcurementForecast(min_probability=2.0).fit(base, AS_OF)
    with pytest.raises(bc.InvalidParameterError, match="organisation-scope"):
        WalletShare(model=bc.potential.WalletModel(inputs=("relations__x",))).fit(base, AS_OF)


def test_a_part_holding_an_unfitted_model_round_trips():
    from b2bclient.account import CrossSellSuggestions, DealOutlook, PartnerSuggestions
    from b2bclient.pipeline import WinModel
    from b2bclient.recommend import CrossSell, PartnerMatcher

    loaded = roundtrip(DealOutlook(model=WinModel(C=0.5), horizon="30D"))
    assert loaded.model.get_params() == WinModel(C=0.5).get_params()
    assert loaded.horizon == "30D"
    cross = roundtrip(CrossSellSuggestions(model=CrossSell(item_model="ease"), k=3))
    assert cross.model.item_model == "ease" and not hasattr(cross.model, "as_of_")
    partners = roundtrip(PartnerSuggestions(model=PartnerMatcher(model="rule")))
    assert partners.model.model == "rule"
