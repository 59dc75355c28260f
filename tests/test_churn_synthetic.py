"""Recovery of the planted churn hazard of the synthetic client base.

The generator plants a Cox hazard on five features taken at ``truth.landmark``; an unpenalised
ChurnModel fitted on those features (computed by ``build_features``) must find the coefficients
within its 95% intervals and rank held-out organisations almost as well as the true hazard.
docs/churn.md reports the same check on a larger base.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index

from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features

N_ORGANISATIONS = 6_000
END = pd.Timestamp("2025-01-01")  # end of the generated data: censoring time


def planted_problem(seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    base, truth = make_client_base(
        n_organisations=N_ORGANISATIONS, end=END, seed=seed, return_truth=True
    )
    beta = truth.hazard_coefficients
    features = build_features(base, as_of=truth.landmark)
    X = features.loc[truth.covariates.index, list(beta.index)]
    churned = truth.churned_at.reindex(X.index)
    duration = (churned.fillna(END) - truth.landmark) / pd.Timedelta(days=1)
    return X, Surv.from_arrays(duration.to_numpy(), churned.notna().to_numpy()), beta


@pytest.fixture(scope="module")
def fits() -> list[dict[str, object]]:
    out = []
    for seed in (0, 1, 2):
        X, y, beta = planted_problem(seed)
        test = np.random.default_rng(seed).random(len(X)) < 0.3
        model = ChurnModel(kind="cox", penalizer=0.0).fit(X[~test], y[~test])
        true_risk = X[test].to_numpy() @ beta.to_numpy()
        out.append(
            {
                "beta": beta,
                "table": model.explain(),
                "c_model": model.score(X[test], y[test]),
                "c_true": concordance_index(y[test]["duration"], -true_risk, y[test]["event"]),
            }
        )
    return out


def test_features_are_the_generator_covariates() -> None:
    base, truth = make_client_base(n_organisations=500, seed=4, return_truth=True)
    cols = list(truth.hazard_coefficients.index)
    X = build_features(base, as_of=truth.landmark).loc[truth.covariates.index, cols]
    np.testing.assert_allclose(X.to_numpy(), truth.covariates[cols].to_numpy())


def test_cox_recovers_the_planted_coefficients(fits: list[dict[str, object]]) -> None:
    inside = []
    for fit in fits:
        table = fit["table"]
        true_ratio = np.exp(fit["beta"])  # type: ignore[arg-type]
        assert isinstance(table, pd.DataFrame)
        inside += (
            (table["hazard_ratio_lower"] <= true_ratio)
            & (true_ratio <= table["hazard_ratio_upper"])
        ).tolist()
    assert np.mean(inside) >= 0.9, inside


def test_cox_ranks_almost_as_well_as_the_true_hazard(fits: list[dict[str, object]]) -> None:
    for fit in fits:
        c_model, c_true = float(fit["c_model"]), float(fit["c_true"])  # type: ignore[arg-type]
        assert c_model >= 0.97 * c_true, (c_model, c_true)


def test_survival_frame_pipeline_on_synthetic_data() -> None:
    base = make_client_base(n_organisations=800, end=END, seed=5)
    frame = survival_frame(
        base,
        END,
        Inactivity("180D"),
        landmarks=["2023-01-01", "2023-07-01"],
        features=lambda b, t: build_features(b, as_of=t, extractors=["purchasing", "engagement"]),
    )
    columns = [c for c in frame.columns if c.startswith(("purchasing__", "engagement__"))]
    X = frame[columns]
    X = X.loc[:, X.notna().all() & (X.std() > 0)]
    y = Surv.from_frame(frame)
    model = ChurnModel(kind="cox").fit(X, y)
    assert model.score(X, y) > 0.65
    assert set(frame["landmark"]) == {pd.Timestamp("2023-01-01"), pd.Timestamp("2023-07-01")}
