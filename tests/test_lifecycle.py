"""LifecycleModel: forecasts against the oracle, point in time, bad input, persistence, funnel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import b2bclient as bc
from b2bclient import (
    B2BClientError,
    InvalidParameterError,
    InvalidTablesError,
    LookAheadError,
    NotFittedError,
    UnknownIdError,
)
from b2bclient.base import ClientBase
from b2bclient.datasets import make_client_base, procurement_oracle
from b2bclient.lifecycle import (
    OUTCOMES,
    LifecycleModel,
    plot_procurement_calibration,
    plot_stage_funnel,
    stage_funnel,
    stage_history,
)
from b2bclient.lifecycle._evaluate import coefficient_coverage, km_baseline, procurement_scores
from b2bclient.persist import assert_same_state, roundtrip

AS_OF = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-01-01")
SMALL_AS_OF = AS_OF


@pytest.fixture(scope="module")
def synthetic():
    return make_client_base(2_000, seed=11, return_truth=True)


@pytest.fixture(scope="module")
def fitted(synthetic):
    base, _ = synthetic
    return LifecycleModel(n_draws=512).fit(base, AS_OF)


@pytest.fixture(scope="module")
def forecast(synthetic, fitted):
    base, _ = synthetic
    return fitted.predict(base, AS_OF)


@pytest.fixture(scope="module")
def plain(synthetic):
    """The model without covariates: the Aalen-Johansen comparison, and cheap refits."""
    base, _ = synthetic
    return LifecycleModel(covariates=(), loss_covariates=(), n_draws=1024, exit_window=None).fit(
        base, AS_OF
    )


@pytest.fixture(scope="module")
def small(synthetic):
    return synthetic[0]


@pytest.fixture(scope="module")
def small_model(fitted):
    return fitted


# ------------------------------------------------------------------------------ forecasts


def test_predict_has_one_row_per_active_project(synthetic, forecast):
    base, _ = synthetic
    view = base.as_of(AS_OF)
    active = view.projects.loc[view.projects["status"] == "active", "project_id"]
    assert sorted(forecast["project_id"]) == sorted(active)
    assert forecast["project_id"].is_monotonic_increasing
    assert list(forecast.columns) == [
        "project_id",
        "organisation_id",
        "stage",
        "days_in_stage",
        "p_procurement_30d",
        "p_procurement_90d",
        "p_procurement_180d",
        "expected_procurement_at",
        "procurement_from",
        "procurement_to",
        "p_cancel",
    ]
    p = forecast[["p_procurement_30d", "p_procurement_90d", "p_procurement_180d"]].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p, axis=1) >= 0).all()
    before = forecast["stage"].isin(["design", "production"]).to_numpy()
    # Projects already in or past procurement have reached it: probability 1, no risk left.
    assert (p[~before] == 1.0).all() and (forecast.loc[~before, "p_cancel"] == 0).all()
    ahead = forecast[before]
    assert (p[before, -1] + ahead["p_cancel"].to_numpy() <= 1 + 1e-12).all()
    assert (ahead["expected_procurement_at"] > AS_OF).all()
    assert (ahead["procurement_from"] <= ahead["procurement_to"]).all()
    assert (forecast["days_in_stage"] >= 0).all()


def test_forecast_is_close_to_the_oracle_and_beats_the_baseline(synthetic, forecast):
    """The Done-when figures at a small size: concordance, calibration per stage, baseline."""
    base, truth = synthetic
    model = procurement_scores(forecast, base, AS_OF, END)
    oracle = procurement_scores(procurement_oracle(base, truth, AS_OF), base, AS_OF, END)
    baseline = procurement_scores(km_baseline(base, AS_OF, n_draws=256), base, AS_OF, END)
    assert model["projects"] == oracle["projects"] == baseline["projects"] > 200
    assert model["concordance"] >= 0.95 * oracle["concordance"]
    assert model["concordance"] > baseline["concordance"]
    for stage in ("design", "production"):
        # A few hundred projects: the observed share is itself a couple of points off the truth.
        assert abs(model[f"{stage}_predicted"] - model[f"{stage}_observed"]) < 0.08
        assert abs(model[f"{stage}_predicted"] - oracle[f"{stage}_predicted"]) < 0.05


def test_probabilities_track_the_oracle_project_by_project(synthetic, forecast):
    base, truth = synthetic
    oracle = procurement_oracle(base, truth, AS_OF, n_draws=512)
    joined = forecast.merge(oracle, on="project_id", suffixes=("", "_oracle"))
    assert len(joined) == len(oracle)
    for column in ("p_procurement_30d", "p_procurement_90d", "p_procurement_180d"):
        gap = (joined[column] - joined[f"{column}_oracle"]).abs()
        assert gap.mean() < 0.06, column
    assert (joined["stage"].astype(str) == joined["stage_oracle"].astype(str)).all()
    assert np.allclose(joined["days_in_stage"], joined["days_in_stage_oracle"])


def test_planted_coefficients_are_recovered(synthetic, fitted):
    _, truth = synthetic
    coverage = coefficient_coverage(fitted, truth)
    inside, total = coverage["duration"]
    assert total == 5 * 7 + (0 + 1 + 2 + 3 + 4)
    assert inside / total >= 0.85
    inside, total = coverage["cancelled"]
    assert total == 5 and inside >= 3
    durations = fitted.coefficients_.query("part == 'duration'")
    assert set(durations["stage"]) == {
        "design",
        "production",
        "procurement",
        "delivery",
        "commissioning",
    }
    assert durations["se"].gt(0).all()


def test_state_occupation_sums_to_one_and_matches_aalen_johansen(synthetic, plain):
    """Without covariates the model's absorbing states match lifelines' Aalen-Johansen estimate."""
    from lifelines import AalenJohansenFitter

    base, _ = synthetic
    model = plain
    days = np.array([0.0, 60.0, 120.0, 180.0, 240.0, 300.0, 365.0])
    occupation = model.state_occupation(days)
    assert list(occupation.columns) == [
        "design",
        "production",
        "procurement",
        "delivery",
        "commissioning",
        "completed",
        "cancelled",
    ]
    assert np.allclose(occupation.sum(axis=1), 1.0)
    assert (occupation.to_numpy() >= -1e-12).all()
    assert occupation.loc[0.0, "design"] == pytest.approx(1.0)
    # Project level: from the start of design to completion (1) or cancellation (2).
    view = base.as_of(AS_OF)
    projects = view.projects.set_index("project_id")
    design = view.stages[view.stages["stage"] == "design"].set_index("project_id")["started_at"]
    status = projects["status"].astype(object).reindex(design.index)
    closed = projects["closed_at"].reindex(design.index)
    event = np.where(status == "completed", 1, np.where(status == "cancelled", 2, 0))
    stop = closed.where(event > 0, AS_OF)
    duration = ((stop - design) / pd.Timedelta(days=1)).to_numpy()
    for code, column in ((1, "completed"), (2, "cancelled")):
        aj = AalenJohansenFitter(calculate_variance=False).fit(
            duration, event, event_of_interest=code
        )
        curve = aj.cumulative_density_.iloc[:, 0]
        expected = np.array([curve[curve.index <= d].iloc[-1] for d in days])
        assert np.abs(occupation[column].to_numpy() - expected).max() < 0.04, column


def test_predict_for_some_organisations_equals_the_full_prediction(synthetic, fitted, forecast):
    base, _ = synthetic
    some = list(forecast["organisation_id"].drop_duplicates().iloc[:3])
    part = fitted.predict(base, AS_OF, organisation_ids=some)
    expected = forecast[forecast["organisation_id"].isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
    nothing = fitted.predict(base, AS_OF, organisation_ids=[])
    assert nothing.empty and list(nothing.columns) == list(forecast.columns)


def test_alerts_give_reasons_in_plain_words(synthetic, fitted):
    base, _ = synthetic
    alerts = fitted.alerts(base, AS_OF, within="60D", min_probability=0.4)
    assert len(alerts) > 0
    assert (alerts["p_procurement_60d"] >= 0.4).all()
    assert alerts["p_procurement_60d"].is_monotonic_decreasing
    assert alerts["stage"].isin(["design", "production"]).all()
    names = base.projects.set_index("project_id")["name"]
    assert (alerts["project"] == alerts["project_id"].map(names)).all()
    first = alerts["reason"].iloc[0]
    assert first.startswith(f"In {alerts['stage'].iloc[0]} for ")
    assert "chance that procurement starts within 60 days" in first
    assert fitted.alerts(base, AS_OF, min_probability=1.0).empty


def test_a_later_as_of_reuses_the_model(synthetic, fitted):
    base, _ = synthetic
    later = fitted.predict(base, "2024-03-01")
    assert len(later) > 0 and (later["days_in_stage"] >= 0).all()


# ------------------------------------------------------------------------------ point in time


def test_same_answer_on_the_base_and_its_cut(small, small_model):
    cut = small.as_of(SMALL_AS_OF)
    pd.testing.assert_frame_equal(
        small_model.predict(small, SMALL_AS_OF), small_model.predict(cut, SMALL_AS_OF)
    )


def _future(cut: ClientBase, t: pd.Timestamp, seed: int, n: int) -> ClientBase:
    """Return `cut` (a base cut at `t`) with another future: stages moving on, projects closing,
    new projects, deals and interactions, all at or after `t` (the first exactly at `t`)."""
    rng = np.random.default_rng(seed)
    tables = {name: frame.copy() for name, frame in cut.tables.items()}
    offsets = pd.to_timedelta(np.round(rng.uniform(0, 400, size=n) * 86_400), unit="s")
    offsets = offsets.insert(0, pd.Timedelta(0))[:n]
    when = [t + d for d in offsets]
    projects, stages = tables["projects"], tables["stages"]
    active = projects.index[projects["status"] == "active"].to_numpy()
    chosen = rng.choice(active, size=min(n, len(active)), replace=False)
    order = list(stages["stage"].cat.categories)
    new_stages = []
    for i, row in enumerate(chosen):
        pid = projects.at[row, "project_id"]
        mine = stages.index[stages["project_id"] == pid]
        last = mine[np.argmax(stages.loc[mine, "stage"].cat.codes.to_numpy())]
        stages.at[last, "ended_at"] = when[i]
        code = order.index(stages.at[last, "stage"])
        if rng.random() < 0.5 and code + 1 < len(order):
            new_stages.append({"project_id": pid, "stage": order[code + 1], "started_at": when[i]})
        else:
            projects.at[row, "status"] = "cancelled" if rng.random() < 0.5 else "completed"
            projects.at[row, "closed_at"] = when[i]
    orgs = rng.choice(tables["organisations"]["organisation_id"].to_numpy(), size=n)
    new_projects = pd.DataFrame(
        {
            "project_id": [f"F-P{i}" for i in range(n)],
            "organisation_id": orgs,
            "created_at": when,
            "status": "active",
            "expected_value": rng.lognormal(12, 3, size=n),
        }
    )
    new_stages += [
        {"project_id": f"F-P{i}", "stage": "design", "started_at": when[i]} for i in range(n)
    ]
    deals = pd.DataFrame(
        {
            "deal_id": [f"F-D{i}" for i in range(n)],
            "organisation_id": orgs,
            "created_at": when,
            "status": "open",
            "amount": 1e9,
        }
    )
    interactions = pd.DataFrame(
        {
            "interaction_id": [f"F-I{i}" for i in range(n)],
            "organisation_id": orgs,
            "occurred_at": when,
            "channel": "support",
        }
    )
    tables["projects"] = pd.concat([projects, new_projects], ignore_index=True)
    tables["stages"] = pd.concat([stages, pd.DataFrame(new_stages)], ignore_index=True)
    tables["deals"] = pd.concat([tables["deals"], deals], ignore_index=True)
    tables["interactions"] = pd.concat([tables["interactions"], interactions], ignore_index=True)
    return ClientBase.from_frames(**tables)


@pytest.fixture(scope="module")
def cut(small):
    return small.as_of(SMALL_AS_OF)


@settings(derandomize=True, deadline=None, max_examples=6, database=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40))
def test_future_rows_change_no_prediction(cut, small_model, seed, n):
    future = _future(cut, SMALL_AS_OF, seed, n)
    assert len(future.stages) > len(cut.stages)
    ids = list(cut.organisations["organisation_id"].iloc[:50])
    pd.testing.assert_frame_equal(
        small_model.predict(future, SMALL_AS_OF, organisation_ids=ids),
        small_model.predict(cut, SMALL_AS_OF, organisation_ids=ids),
    )


def test_future_rows_change_no_fit_and_no_funnel(cut, small_model, plain):
    future = _future(cut, SMALL_AS_OF, seed=7, n=60)
    pd.testing.assert_frame_equal(stage_funnel(future, SMALL_AS_OF), stage_funnel(cut, SMALL_AS_OF))
    # The model without covariates, fitted on the full base, is fitted again on another future.
    refit = clone(plain).fit(future, SMALL_AS_OF)
    assert_same_state(plain, refit)
    pd.testing.assert_frame_equal(
        small_model.predict(future, SMALL_AS_OF), small_model.predict(cut, SMALL_AS_OF)
    )


# ------------------------------------------------------------------------------ bad input


def test_bad_input_gives_clear_errors(small, small_model):
    with pytest.raises(InvalidParameterError, match="no project stage started before it"):
        LifecycleModel().fit(small, "2000-01-01")
    with pytest.raises(InvalidParameterError, match="no project stage started before it"):
        small_model.predict(small, "2000-01-01")
    with pytest.raises(UnknownIdError, match="O-nope"):
        small_model.predict(small, SMALL_AS_OF, organisation_ids=["O-nope"])
    with pytest.raises(InvalidParameterError, match="'organisation_ids'"):
        small_model.predict(small, SMALL_AS_OF, organisation_ids="O-000001")
    for horizon in ("0D", "-30D", 0, "soon"):
        with pytest.raises(InvalidParameterError, match="positive duration"):
            small_model.predict(small, SMALL_AS_OF, horizons=[horizon])
    with pytest.raises(InvalidParameterError, match="positive duration"):
        LifecycleModel(horizons=["-1D"]).fit(small, SMALL_AS_OF)
    with pytest.raises(InvalidParameterError, match="'within'"):
        small_model.alerts(small, SMALL_AS_OF, within="0D")
    with pytest.raises(InvalidParameterError, match="'min_probability'"):
        small_model.alerts(small, SMALL_AS_OF, min_probability=1.5)
    with pytest.raises(LookAheadError, match="fitted as of 2024-01-01"):
        small_model.predict(small, "2023-12-31")
    with pytest.raises(NotFittedError, match="not fitted"):
        LifecycleModel().predict(small, SMALL_AS_OF)
    with pytest.raises(InvalidParameterError, match=r"'covariates'.*unknown"):
        LifecycleModel(covariates=["shoe_size"]).fit(small, SMALL_AS_OF)
    for name, value in (("penalizer", -1.0), ("n_draws", 3), ("random_state", "x")):
        with pytest.raises(InvalidParameterError, match=name):
            LifecycleModel(**{name: value}).fit(small, SMALL_AS_OF)
    with pytest.raises(InvalidParameterError, match="must be a ClientBase"):
        LifecycleModel().fit(small.projects, SMALL_AS_OF)
    first = small.stages["started_at"].min()
    with pytest.raises(InvalidParameterError, match="too few to fit"):
        LifecycleModel().fit(small, first + pd.Timedelta("30D"))
    with pytest.raises(InvalidParameterError, match="'days'"):
        small_model.state_occupation([-1.0])


def test_an_active_project_without_stages_is_named(small, small_model):
    tables = dict(small.tables)
    stages = tables["stages"]
    view = small.as_of(SMALL_AS_OF)
    active = view.projects.loc[view.projects["status"] == "active", "project_id"].iloc[0]
    tables["stages"] = stages[stages["project_id"] != active]
    broken = ClientBase.from_frames(**tables)
    with pytest.raises(InvalidTablesError, match=active) as info:
        small_model.predict(broken, SMALL_AS_OF)
    assert isinstance(info.value, B2BClientError)
    assert info.value.problems["row_id"].tolist() == [active]
    # Another organisation's forecast does not need that project.
    other = view.projects.loc[view.projects["project_id"] != active, "organisation_id"]
    owner = view.projects.set_index("project_id").at[active, "organisation_id"]
    fine = [o for o in other if o != owner][:1]
    assert len(small_model.predict(broken, SMALL_AS_OF, organisation_ids=fine)) >= 0


# ------------------------------------------------------------------------------ estimator, storage


def test_parameters_clone_and_persistence(small, small_model, tmp_path):
    params = LifecycleModel().get_params()
    assert params["horizons"] == ("30D", "90D", "180D") and params["penalizer"] == 0.0
    copy = clone(small_model)
    assert not hasattr(copy, "transitions_")
    assert copy.get_params() == small_model.get_params()
    loaded = roundtrip(small_model, archive=True)
    assert_same_state(small_model, loaded)
    pd.testing.assert_frame_equal(
        loaded.predict(small, SMALL_AS_OF), small_model.predict(small, SMALL_AS_OF)
    )
    bc.save(small_model, tmp_path / "lifecycle")
    again = bc.load(tmp_path / "lifecycle")
    pd.testing.assert_frame_equal(
        again.alerts(small, SMALL_AS_OF), small_model.alerts(small, SMALL_AS_OF)
    )


def test_a_window_fits_the_recent_past_with_delayed_entry(small, small_model):
    recent = LifecycleModel(covariates=(), loss_covariates=(), n_draws=64, window="365D")
    recent.fit(small, SMALL_AS_OF)
    assert recent.spells_.to_numpy().sum() < small_model.spells_.to_numpy().sum()
    forecast = recent.predict(small, SMALL_AS_OF)
    assert len(forecast) == len(small_model.predict(small, SMALL_AS_OF))
    # The spells running into the window count from its start only.
    history = stage_history(small, SMALL_AS_OF)
    start = SMALL_AS_OF - pd.Timedelta("365D")
    ended = history["started_at"] + pd.to_timedelta(history["days"], unit="D") <= start
    in_window = history[~ended]
    assert recent.spells_.to_numpy().sum() == len(in_window)
    with pytest.raises(InvalidParameterError, match="'window'"):
        LifecycleModel(window="-1D").fit(small, SMALL_AS_OF)


def test_the_exit_window_takes_the_recent_exit_rates(small, small_model):
    whole = LifecycleModel(n_draws=64, exit_window=None).fit(small, SMALL_AS_OF)
    assert small_model.get_params()["exit_window"] == "365D"
    # Coefficients (durations and exits) come from the whole history either way.
    pd.testing.assert_frame_equal(small_model.coefficients_, whole.coefficients_)
    assert not np.allclose(small_model.exit_rates_, whole.exit_rates_)
    # Without covariates the rate is the events in the window over the time at risk in it.
    plain = LifecycleModel(covariates=(), loss_covariates=(), n_draws=64).fit(small, SMALL_AS_OF)
    history = stage_history(small, SMALL_AS_OF)
    start = SMALL_AS_OF - pd.Timedelta("365D")
    stop = history["started_at"] + pd.to_timedelta(history["days"], unit="D")
    inside = history[stop > start]
    entry = np.maximum(inside["entry_days"], (start - inside["started_at"]) / pd.Timedelta(days=1))
    exposure = (inside["days"] - entry).clip(lower=0)
    stage = inside["stage"].astype(object)
    for cause in ("cancelled", "organisation_lost"):
        for name in ("design", "production"):
            rows = (stage == name).to_numpy()
            expected = (inside["outcome"] == cause)[rows].sum() / exposure[rows].sum()
            assert plain.exit_rates_.loc[name, cause] == pytest.approx(expected), (cause, name)
    with pytest.raises(InvalidParameterError, match="'exit_window'"):
        LifecycleModel(exit_window="-1D").fit(small, SMALL_AS_OF)


def test_fitted_attributes_describe_the_fit(small_model):
    assert small_model.as_of_ == SMALL_AS_OF
    assert list(small_model.exit_rates_.columns) == ["cancelled", "organisation_lost"]
    assert (small_model.exit_rates_.to_numpy() >= 0).all()
    assert list(small_model.spells_.columns) == list(OUTCOMES)
    assert small_model.spells_.loc["design"].sum() > small_model.spells_.loc["commissioning"].sum()
    assert len(small_model.covariate_sample_) <= 400


# ------------------------------------------------------------------------------ history, funnel


def _tiny() -> ClientBase:
    """Four projects of two organisations, each ending its stages a different way."""
    t = pd.Timestamp
    orgs = pd.DataFrame(
        {"organisation_id": ["A", "B"], "created_at": [t("2020-01-01"), t("2020-01-01")]}
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3", "P4"],
            "organisation_id": ["A", "A", "B", "A"],
            "created_at": [t("2021-01-01"), t("2021-02-01"), t("2021-03-01"), t("2021-05-01")],
            "status": ["completed", "cancelled", "cancelled", "active"],
            "closed_at": [t("2021-06-01"), t("2021-04-01"), t("2021-04-01"), pd.NaT],
            "expected_value": [1e4, 2e4, 3e4, 4e4],
        }
    )
    stages = pd.DataFrame(
        {
            "project_id": ["P1", "P1", "P2", "P3", "P4"],
            "stage": ["design", "production", "design", "design", "production"],
            # P4 was recorded 30 days into production: delayed entry.
            "started_at": [
                t("2021-01-01"),
                t("2021-03-01"),
                t("2021-02-01"),
                t("2021-03-01"),
                t("2021-04-01"),
            ],
            "ended_at": [
                t("2021-03-01"),
                t("2021-06-01"),
                t("2021-04-01"),
                t("2021-04-01"),
                pd.NaT,
            ],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2"],
            "organisation_id": ["A", "A"],
            "project_id": ["P1", "P1"],
            "created_at": [t("2021-01-15"), t("2021-06-15")],
            "status": ["won", "won"],
            "closed_at": [t("2021-01-20"), t("2021-06-20")],
            "amount": [100.0, 50.0],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["S-ins", "G-1"],
            "category": ["insurance", "steel"],
            "kind": ["service", "good"],
        }
    )
    lines = pd.DataFrame(
        {
            "deal_id": ["D1", "D1"],
            "line_no": [1, 2],
            "product_id": ["S-ins", "G-1"],
            "quantity": [1.0, 2.0],
            "amount": [60.0, 40.0],
        }
    )
    return ClientBase.from_frames(
        orgs, projects=projects, stages=stages, deals=deals, products=products, deal_lines=lines
    )


def test_stage_history_outcomes_and_delayed_entry():
    history = stage_history(_tiny(), "2021-07-01").set_index(["project_id", "stage"])
    assert history.loc[("P1", "design"), "outcome"] == "moved_on"
    assert history.loc[("P1", "production"), "outcome"] == "moved_on"
    # A's deal D2 (2021-06-15) shows it still active after P2's cancellation; B went silent
    # but was never heard from before, so silence says nothing.
    assert history.loc[("P2", "design"), "outcome"] == "cancelled"
    assert history.loc[("P3", "design"), "outcome"] == "cancelled"
    assert history.loc[("P4", "production"), "outcome"] == "running"
    assert history.loc[("P4", "production"), "entry_days"] == 30.0
    assert history.loc[("P4", "production"), "days"] == 91.0
    assert history.loc[("P1", "production"), "log_days_design"] == pytest.approx(np.log(59.0))
    assert np.isnan(history.loc[("P1", "design"), "log_days_design"])


def test_stage_funnel_counts_and_services():
    funnel = stage_funnel(_tiny(), "2021-07-01")
    assert funnel.loc["design", "entered"] == 3
    assert funnel.loc["design", "moved_on"] == 1 and funnel.loc["design", "cancelled"] == 2
    assert funnel.loc["design", "conversion"] == pytest.approx(1 / 3)
    assert funnel.loc["production", "entered"] == 2 and funnel.loc["production", "running"] == 1
    assert funnel.loc["production", "reached"] == pytest.approx(2 / 3)
    # D1's insurance line was ordered while P1 was in design; D2 has no lines.
    assert funnel.loc["design", "service_insurance"] == pytest.approx(1 / 3)
    assert funnel["service_insurance"].drop("design").fillna(0).eq(0).all()
    assert funnel.loc["delivery", "entered"] == 0 and np.isnan(funnel.loc["delivery", "conversion"])
    assert (funnel["entered"] == funnel["moved_on"] + funnel["cancelled"] + funnel["running"]).all()


def test_stage_funnel_on_synthetic_data(synthetic):
    base, _ = synthetic
    funnel = stage_funnel(base, AS_OF)
    assert funnel["entered"].is_monotonic_decreasing
    services = funnel.filter(like="service_")
    assert ((services >= 0) & (services <= 1)).all().all()
    # The generator books lifting with the goods order or in delivery, installation in
    # commissioning, design work in design.
    assert services["service_design"].idxmax() == "design"
    assert services["service_installation"].idxmax() == "commissioning"
    assert funnel.loc["production", "median_days"] > funnel.loc["commissioning", "median_days"]


def test_plots(small, small_model):
    pytest.importorskip("matplotlib")
    ax = plot_stage_funnel(stage_funnel(small, SMALL_AS_OF))
    assert len(ax.patches) == 5
    ax = plot_procurement_calibration(small_model, small, SMALL_AS_OF, until="2025-01-01")
    assert len(ax.lines) == 4 and ax.get_ylim() == (0.0, 1.0)
    with pytest.raises(InvalidParameterError, match="stage_funnel"):
        plot_stage_funnel(pd.DataFrame())


def test_the_exit_fit_recovers_a_piecewise_exponential_model_with_delayed_entry():
    from b2bclient.lifecycle._fit import fit_piecewise_exponential

    rng = np.random.default_rng(7)
    n, beta = 40_000, np.array([0.4, -0.7])
    X = np.column_stack([rng.normal(size=n), rng.binomial(1, 0.3, size=n)]).astype(float)
    stage = rng.integers(0, 3, size=n)
    base_rate = np.array([0.002, 0.0005, 0.001])[stage]
    exit_day = rng.exponential(1 / (base_rate * np.exp(X @ beta)))
    entry = rng.uniform(0, 200, size=n) * rng.binomial(1, 0.4, size=n)
    end = entry + rng.uniform(50, 600, size=n)  # censored at its end unless it exited before
    seen = exit_day > entry  # spells that exited before their entry are never recorded
    event = (exit_day <= end)[seen]
    exposure = (np.minimum(exit_day, end) - entry)[seen]
    coef, se = fit_piecewise_exponential(X[seen], stage[seen], exposure, event)
    assert np.all(np.abs(coef - beta) < 4 * se)
    assert np.all(se < 0.05)
    # With a penalty the coefficients shrink towards 0; separation is refused, not returned.
    shrunk, _ = fit_piecewise_exponential(X[seen], stage[seen], exposure, event, penalizer=1.0)
    assert np.all(np.abs(shrunk) < np.abs(coef))
    # A covariate set only on spells that did not exit: its coefficient runs off to -inf.
    separated = (~event & (rng.random(len(event)) < 0.5)).astype(float)[:, None]
    with pytest.raises(ValueError, match="separation"):
        fit_piecewise_exponential(separated, stage[seen], exposure, event)


def test_procurement_dates_send_only_finite_days_to_pandas(monkeypatch):
    # pandas converts a float array holding NaN by rounding an uninitialised buffer at the NaN
    # rows (spurious overflow warnings at random): only the finite days may reach it.
    from b2bclient.lifecycle import _forecast

    seen = []
    real = pd.to_timedelta

    def spy(arg, *args, **kwargs):
        seen.append(np.asarray(arg, dtype=float))
        return real(arg, *args, **kwargs)

    monkeypatch.setattr(pd, "to_timedelta", spy)
    t = pd.Timestamp("2024-01-01")
    days = np.array([1.5, np.nan, 10.0, np.nan])
    past = np.array([False, True, False, False])
    started = pd.DatetimeIndex(["2023-01-01", "2023-06-01", "2023-01-01", "NaT"])
    out = pd.DatetimeIndex(_forecast._dates(t, days, past, started))
    assert seen and all(np.isfinite(a).all() for a in seen)
    assert list(out[:3]) == [
        t + pd.Timedelta(hours=36),
        pd.Timestamp("2023-06-01"),
        t + pd.Timedelta(days=10),
    ]
    assert pd.isna(out[3])  # no forecast and not past: no date, not a made-up one
