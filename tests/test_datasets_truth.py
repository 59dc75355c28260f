"""The planted lifecycle, win probabilities and wallets of the synthetic client base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, LogNormalAFTFitter

from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.datasets import SyntheticTruth, make_client_base
from b2bclient.datasets._oracle import observed_project_covariates
from b2bclient.datasets._projects import PROJECT_COVARIATES
from b2bclient.datasets._signals import stage_history, win_ceiling

END = pd.Timestamp("2025-01-01")
DAY = pd.Timedelta(days=1)
COVARIATES = list(PROJECT_COVARIATES)


@pytest.fixture(scope="module")
def generated() -> tuple[ClientBase, SyntheticTruth]:
    return make_client_base(6_000, seed=7, return_truth=True)


@pytest.fixture(scope="module")
def base(generated: tuple[ClientBase, SyntheticTruth]) -> ClientBase:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated: tuple[ClientBase, SyntheticTruth]) -> SyntheticTruth:
    return generated[1]


@pytest.fixture(scope="module")
def history(base: ClientBase, truth: SyntheticTruth) -> pd.DataFrame:
    return stage_history(base, truth)


# --- determinism and shape ----------------------------------------------------------------------


def test_new_truth_is_deterministic() -> None:
    first = make_client_base(400, seed=11, return_truth=True)[1]
    again = make_client_base(400, seed=11, return_truth=True)[1]
    for name in ("win_probability", "wallet", "wallet_share", "expected_spend"):
        pd.testing.assert_series_equal(getattr(first, name), getattr(again, name))
    for name in ("project_covariates", "deal_covariates", "stage_transitions"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    other = make_client_base(400, seed=12, return_truth=True)[1]
    assert not first.wallet.equals(other.wallet)


def test_truth_is_indexed_like_the_tables(base: ClientBase, truth: SyntheticTruth) -> None:
    deal_ids = pd.Index(base.deals["deal_id"], name="deal_id")
    assert truth.win_probability.index.equals(deal_ids)
    assert truth.deal_covariates.index.equals(deal_ids)
    project_ids = pd.Index(base.projects["project_id"], name="project_id")
    assert truth.project_covariates.index.equals(project_ids)
    assert list(truth.project_covariates.columns) == COVARIATES
    org_ids = pd.Index(base.organisations["organisation_id"], name="organisation_id")
    for series in (truth.wallet, truth.wallet_share, truth.expected_spend):
        assert series.index.equals(org_ids)
    assert list(truth.stage_coefficients.index) == list(STAGES)
    assert list(truth.close_time.index) == ["portal", "sales_rep", "tender", "edi", "other"]


# --- lifecycle ----------------------------------------------------------------------------------


def test_project_covariates_are_observable_at_creation(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    ids = truth.project_covariates.index
    recomputed = observed_project_covariates(base, ids)
    pd.testing.assert_frame_equal(recomputed, truth.project_covariates, check_names=False)
    assert truth.project_covariates.std().gt(0).all()
    # Rows at or after a project's creation never enter: a view cut just after it agrees.
    late = base.projects.sort_values("created_at").iloc[-50:]
    cut = base.as_of(late["created_at"].max() + pd.Timedelta(seconds=1))
    pd.testing.assert_frame_equal(
        observed_project_covariates(cut, late["project_id"]),
        truth.project_covariates.loc[late["project_id"]],
        check_names=False,
    )


def test_uncensored_stage_durations_follow_the_planted_lognormal(
    history: pd.DataFrame, truth: SyntheticTruth
) -> None:
    # Design stages of projects started two years before the end are censored by the end only
    # when they last two years; cancellation removes about 5% of them, a negligible tilt.
    early = history[
        (history["stage"] == "design")
        & history["completed"]
        & (history["started_at"] < END - pd.Timedelta(days=730))
    ]
    X = np.column_stack([np.ones(len(early)), early[COVARIATES[:4]].to_numpy()])
    coef, *_ = np.linalg.lstsq(X, np.log(early["days"].to_numpy()), rcond=None)
    planted = truth.stage_coefficients.loc["design", ["intercept", *COVARIATES[:4]]].to_numpy()
    np.testing.assert_allclose(coef[1:], planted[1:], atol=0.03)
    residual = np.log(early["days"]) - X @ coef
    assert abs(residual.std() - truth.stage_coefficients.loc["design", "sigma"]) < 0.03


@pytest.mark.parametrize("stage", ["design", "production", "procurement"])
def test_lognormal_aft_recovers_each_transition(
    history: pd.DataFrame, truth: SyntheticTruth, stage: str
) -> None:
    rows = history[history["stage"] == stage]
    earlier = [f"log_days_{s}" for s in STAGES[: STAGES.index(stage)]]
    columns = COVARIATES[:4] + earlier
    frame = rows[columns].assign(days=rows["days"].clip(lower=1e-3), done=rows["completed"])
    fitted = LogNormalAFTFitter().fit(frame, "days", "done")
    summary = fitted.summary.loc["mu_"]
    planted = truth.stage_transitions.loc[stage]
    for column in columns:
        error = abs(summary.loc[column, "coef"] - planted[column])
        assert error < 3.5 * summary.loc[column, "se(coef)"], (stage, column)
    sigma = float(np.exp(fitted.summary.loc[("sigma_", "Intercept"), "coef"]))
    assert abs(sigma - planted["sigma"]) < 0.03


def test_cox_recovers_the_cancellation_hazard(history: pd.DataFrame, truth: SyntheticTruth) -> None:
    # Cancellations that follow the organisation's churn are another cause: censored here.
    frame = history[COVARIATES].assign(
        days=history["days"].clip(lower=1e-3),
        event=(history["cancelled"] & ~history["churn"]).astype(int),
        stage=history["stage"].cat.codes,
    )
    fitted = CoxPHFitter().fit(frame, "days", "event", strata=["stage"]).summary
    planted = truth.cancellation_hazard.iloc[0][COVARIATES]
    error = (fitted["coef"] - planted).abs()
    assert (error < 3.5 * fitted["se(coef)"]).all(), fitted[["coef", "se(coef)"]]
    assert history["churn"].any() and (history["cancelled"] & ~history["churn"]).sum() > 300


def test_transitions_are_the_conditioned_stage_model(truth: SyntheticTruth) -> None:
    # Simulate the marginal model and regress each stage on the covariates and earlier stages.
    rng = np.random.default_rng(0)
    marginal = truth.stage_coefficients
    rho = float(truth.stage_durations["correlation"].iloc[0])
    n = 200_000
    x = rng.normal(size=(n, len(COVARIATES)))
    z = np.sqrt(rho) * rng.normal(size=(n, 1)) + np.sqrt(1 - rho) * rng.normal(size=(n, 5))
    log_days = (
        marginal["intercept"].to_numpy()
        + x @ marginal[COVARIATES].to_numpy().T
        + marginal["sigma"].to_numpy() * z
    )
    for s, stage in enumerate(STAGES):
        X = np.column_stack([np.ones(n), x, log_days[:, :s]])
        coef, *_ = np.linalg.lstsq(X, log_days[:, s], rcond=None)
        planted = truth.stage_transitions.loc[stage]
        expected = [planted["intercept"], *planted[COVARIATES]]
        expected += [planted[f"log_days_{e}"] for e in STAGES[:s]]
        np.testing.assert_allclose(coef, expected, atol=0.02)
        assert abs((log_days[:, s] - X @ coef).std() - planted["sigma"]) < 0.01


# --- deals --------------------------------------------------------------------------------------


def test_win_probabilities_are_probabilities_of_every_deal(truth: SyntheticTruth) -> None:
    p = truth.win_probability
    assert p.notna().all()
    assert ((p > 0) & (p < 1)).all()


def test_won_rate_matches_the_true_probability_per_decile(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    scores = win_ceiling(base, truth)
    assert scores["calibration_gap"] < 0.03
    assert scores["auc"] > scores["channel_auc"] + 0.05
    assert scores["brier"] < scores["channel_brier"]


def test_deal_covariates_are_observable_at_creation(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    deals = base.deals.sample(300, random_state=0)
    amounts = dict(tuple(base.deals.groupby("organisation_id")[["created_at", "amount"]]))
    personal = base.interactions[base.interactions["channel"].isin(["email", "phone", "meeting"])]
    touched = dict(tuple(personal.groupby("organisation_id")["occurred_at"]))
    for deal in deals.itertuples():
        t = deal.created_at
        own = amounts[deal.organisation_id]
        before = own[(own["created_at"] >= t - pd.Timedelta(days=365)) & (own["created_at"] < t)]
        relative = np.log(deal.amount) - np.log(before["amount"]).mean() if len(before) else 0.0
        times = touched.get(deal.organisation_id, pd.Series(dtype="datetime64[ns]"))
        touches = times[(times >= t - pd.Timedelta(days=90)) & (times < t)]
        planted = truth.deal_covariates.loc[deal.deal_id]
        assert planted["relative_amount"] == pytest.approx(relative, abs=1e-9)
        assert planted["touchpoints_90d"] == len(touches)


def test_win_logit_follows_the_planted_coefficients(
    base: ClientBase, truth: SyntheticTruth
) -> None:
    # The logit minus its observable part is the latent part: centred on the trait term, with the
    # planted spread of the organisation and deal effects.
    coef = truth.win_coefficients
    deals = base.deals.set_index("deal_id")
    x = truth.deal_covariates
    stage = _deal_stage(base).reindex(deals.index)
    observable = (
        deals["channel"].astype(str).map(lambda c: coef[f"channel[{c}]"])
        + stage.map(lambda s: coef[f"stage[{s}]"] if isinstance(s, str) else 0.0)
        + coef["relative_amount"] * x["relative_amount"]
        + coef["touchpoints"] * (np.log1p(x["touchpoints_90d"]) - coef["touchpoints_reference"])
    )
    trait = deals["organisation_id"].map(truth.traits["contract_logit"]) * coef["contract_logit"]
    logit = np.log(truth.win_probability / (1 - truth.win_probability))
    latent = logit - observable - trait
    spread = np.hypot(coef["organisation_sd"], coef["deal_sd"])
    assert abs(latent.mean()) < 0.05
    assert abs(latent.std() - spread) < 0.05
    by_org = latent.groupby(deals["organisation_id"]).agg(["mean", "size"])
    many = by_org[by_org["size"] >= 30]
    assert abs(many["mean"].std() - coef["organisation_sd"]) < 0.06


def _deal_stage(base: ClientBase) -> pd.Series:
    deals = base.deals.dropna(subset=["project_id"])[["deal_id", "project_id", "created_at"]]
    stages = base.stages.merge(deals, on="project_id")
    inside = (stages["started_at"] <= stages["created_at"]) & ~(
        stages["ended_at"] <= stages["created_at"]
    )
    return stages[inside].set_index("deal_id")["stage"].astype(str)


def test_close_times_follow_the_planted_lognormal(base: ClientBase, truth: SyntheticTruth) -> None:
    deals = base.deals.dropna(subset=["closed_at"])
    churned = deals["organisation_id"].map(truth.churned_at)
    ordinary = deals[~(deals["closed_at"] >= churned)]  # churn closes in-flight deals early
    days = (ordinary["closed_at"] - ordinary["created_at"]) / DAY
    for channel in ("sales_rep", "tender", "other"):
        planted = truth.close_time.loc[channel]
        logs = np.log(days[ordinary["channel"] == channel])
        # Deals closing after the end are open: the log-median is cut slightly low.
        assert abs(np.median(logs) - np.log(planted["median_days"])) < 0.1, channel
        assert abs(logs.std() - planted["sigma"]) < 0.1, channel


# --- wallets ------------------------------------------------------------------------------------


def test_wallet_is_spend_over_share(truth: SyntheticTruth) -> None:
    share = truth.wallet_share
    assert ((share > 0) & (share < 1)).all()
    np.testing.assert_allclose(truth.wallet * share, truth.expected_spend, rtol=1e-12)
    assert 0.2 < share.median() < 0.4


def test_wallet_holds_what_an_organisation_buys(base: ClientBase, truth: SyntheticTruth) -> None:
    # Organisations there from the start and alive through three whole years in the middle.
    lo, hi = pd.Timestamp("2021-01-01"), pd.Timestamp("2024-01-01")
    orgs = base.organisations.set_index("organisation_id")
    steady = (orgs["created_at"] < pd.Timestamp("2020-06-01")) & ~(truth.churned_at < hi)
    deals = base.deals
    won = deals[(deals["status"] == "won") & (deals["closed_at"] >= lo) & (deals["closed_at"] < hi)]
    yearly = won.groupby("organisation_id")["amount"].sum().reindex(orgs.index, fill_value=0) / 3
    yearly, wallet = yearly[steady], truth.wallet[steady]
    assert yearly.mean() < 0.5 * wallet.mean()
    # A year with a big project order can exceed the yearly need, rarely.
    assert (yearly > wallet).mean() < 0.1
    ratio = yearly.sum() / truth.expected_spend[steady].sum()
    assert 0.92 < ratio < 1.12
    # What is bought, as a share of the wallet, follows the planted share.
    quintile = pd.qcut(truth.wallet_share[steady], 5, labels=False)
    bought = yearly.groupby(quintile).sum() / wallet.groupby(quintile).sum()
    planted = truth.wallet_share[steady].groupby(quintile).mean()
    assert bought.is_monotonic_increasing
    np.testing.assert_allclose(bought, planted, rtol=0.2)


# --- difficulty ---------------------------------------------------------------------------------


def test_difficulty_moves_the_new_signals() -> None:
    win, duration, wallet = [], [], []
    for difficulty in (0.0, 0.5, 1.0):
        base, truth = make_client_base(2_000, seed=5, difficulty=difficulty, return_truth=True)
        closed = base.deals[base.deals["status"] != "open"]
        coef = truth.win_coefficients
        x = truth.deal_covariates.loc[closed["deal_id"]]
        intercept = {
            c: coef[f"channel[{c}]"] for c in ("portal", "sales_rep", "tender", "edi", "other")
        }
        observable = closed["channel"].astype(str).map(intercept).to_numpy()
        observable = observable + coef["relative_amount"] * x["relative_amount"].to_numpy()
        won = (closed["status"] == "won").to_numpy()
        win.append(_auc(observable, won))
        history = stage_history(base, truth)
        design = history[(history["stage"] == "design") & history["completed"]]
        X = np.column_stack([np.ones(len(design)), design[COVARIATES[:4]].to_numpy()])
        y = np.log(design["days"].to_numpy())
        coef_d, *_ = np.linalg.lstsq(X, y, rcond=None)
        duration.append(1 - (y - X @ coef_d).var() / y.var())
        spend = base.deals[base.deals["status"] == "won"].groupby("organisation_id")["amount"].sum()
        wallet.append(spend.corr(truth.wallet.reindex(spend.index), method="spearman"))
    for values in (win, duration, wallet):
        assert values[0] > values[1] > values[2], values


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))
