"""The preprocessor: from build_features output to a model matrix every estimator takes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import b2bclient as bc
from b2bclient import InvalidParameterError, NotFittedError
from b2bclient.features import FeaturePreprocessor, build_features, preprocessor
from b2bclient.persist import assert_same_state, roundtrip


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    base = bc.datasets.make_client_base(400, seed=5)
    return build_features(base, as_of="2025-01-01")


def _toy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "purchasing__orders_total": [0.0, 1.0, 3.0, 40.0, 7.0],
            "purchasing__recency_days": [np.nan, 10.0, 30.0, 2.0, np.nan],
            "purchasing__first_purchase_days": [np.nan, 100.0, 300.0, 900.0, np.nan],
            "engagement__portal_share_365d": [0.0, 0.2, 0.5, 0.9, 0.1],
            "contracts__active": [0.0, 1.0, 0.0, 1.0, 1.0],
            "firmographics__industry": pd.Categorical(["steel", "food", "steel", None, "food"]),
            "constant": [3.0, 3.0, 3.0, 3.0, 3.0],
        },
        index=pd.Index([f"O-{i}" for i in range(5)], name="organisation_id"),
    )


def test_kinds_follow_declared_rollups_and_data() -> None:
    pre = FeaturePreprocessor().fit(_toy())
    assert pre.kinds_.to_dict() == {
        "purchasing__orders_total": "log",  # declared 'sum': a count
        "purchasing__recency_days": "linear",
        "purchasing__first_purchase_days": "linear",
        "engagement__portal_share_365d": "linear",  # a share, within [0, 1]
        "contracts__active": "binary",
        "firmographics__industry": "categorical",
        "constant": "linear",
    }
    assert pre.dropped_.to_dict() == {"constant": "constant"}


def test_heavy_tailed_undeclared_column_is_logged() -> None:
    X = pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 5.0, 1e6], "trend": [-1.0, 1, 0, 0.5, 0, 0]})
    pre = FeaturePreprocessor(extractors=[]).fit(X)
    assert pre.kinds_.to_dict() == {"value": "log", "trend": "linear"}


def test_log_impute_scale_and_indicators() -> None:
    X = _toy()
    pre = preprocessor()
    Z = pre.fit_transform(X)
    assert Z.index.equals(X.index)
    assert Z.columns.tolist() == [
        "purchasing__orders_total",
        "purchasing__recency_days",
        "purchasing__recency_days__missing",
        "purchasing__first_purchase_days",
        "engagement__portal_share_365d",
        "contracts__active",
        "firmographics__industry=food",
        "firmographics__industry=steel",
    ]
    # one indicator for two columns missing on the same rows
    assert pre.missing_indicators_ == {
        "purchasing__recency_days__missing": [
            "purchasing__recency_days",
            "purchasing__first_purchase_days",
        ]
    }
    logged = np.log1p(X["purchasing__orders_total"].to_numpy())
    expected = (logged - logged.mean()) / logged.std()
    np.testing.assert_allclose(Z["purchasing__orders_total"], expected)
    recency = Z["purchasing__recency_days"].to_numpy()
    assert recency[0] == pytest.approx(recency[4])  # both imputed with the median
    assert Z["purchasing__recency_days__missing"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert Z["contracts__active"].tolist() == X["contracts__active"].tolist()
    assert Z["firmographics__industry=food"].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]
    assert np.isfinite(Z.to_numpy()).all()


def test_passthrough_drop_first_robust_and_no_indicator() -> None:
    X = _toy()
    Z = preprocessor(categorical="passthrough").fit_transform(X)
    assert isinstance(Z["firmographics__industry"].dtype, pd.CategoricalDtype)
    assert Z["firmographics__industry"].isna().sum() == 1
    Z = preprocessor(drop_first=True, missing_indicator=False).fit_transform(X)
    assert "firmographics__industry=food" not in Z.columns
    assert "firmographics__industry=steel" in Z.columns
    assert not any(c.endswith("__missing") for c in Z.columns)
    pre = preprocessor(heavy_tailed="robust").fit(X)
    orders = X["purchasing__orders_total"]
    q1, q3 = orders.quantile([0.25, 0.75])
    assert pre.scale_["purchasing__orders_total"] == pytest.approx(q3 - q1)
    assert pre.center_["purchasing__orders_total"] == pytest.approx(orders.median())
    raw = preprocessor(scale=None, kinds={"purchasing__orders_total": "linear"}).fit_transform(X)
    assert raw["purchasing__orders_total"].tolist() == orders.tolist()


def test_kinds_override_and_drop() -> None:
    X = _toy()
    pre = preprocessor(kinds={"engagement__portal_share_365d": "drop"}).fit(X)
    assert pre.dropped_["engagement__portal_share_365d"] == "kinds"
    assert "engagement__portal_share_365d" not in pre.get_feature_names_out()


def test_new_levels_and_new_missing_values_at_transform() -> None:
    X = _toy()
    pre = preprocessor().fit(X)
    new = X.iloc[:2].copy()
    new["firmographics__industry"] = pd.Categorical(["pharma", "food"])
    new.loc["O-1", "engagement__portal_share_365d"] = np.nan
    Z = pre.transform(new)
    assert (
        Z.loc["O-0", ["firmographics__industry=food", "firmographics__industry=steel"]].sum() == 0
    )
    assert np.isfinite(Z.to_numpy()).all()


def test_constant_column_with_missing_values_keeps_its_indicator() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan, 1.0, np.nan], "b": [0.1, 0.5, 0.3, 0.2]})
    pre = preprocessor(extractors=[]).fit(X)
    assert pre.get_feature_names_out().tolist() == ["a__missing", "b"]
    assert pre.transform(X)["a__missing"].tolist() == [0.0, 1.0, 0.0, 1.0]


def test_all_missing_column_is_dropped_and_reported() -> None:
    X = _toy().assign(empty=np.nan)
    pre = preprocessor().fit(X)
    assert pre.dropped_["empty"] == "all missing"
    with pytest.raises(InvalidParameterError, match="'empty'"):
        preprocessor(drop_constant=False).fit(X)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pd.to_datetime(["2024-01-01"] * 5), "datetime64"),
        ([1.0, np.inf, 2.0, 3.0, 4.0], "infinite"),
    ],
)
def test_bad_columns_are_named(column: Any, message: str) -> None:
    X = _toy().assign(bad=column)
    with pytest.raises(InvalidParameterError, match=f"'bad'.*{message}|{message}.*'bad'"):
        preprocessor().fit(X)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"heavy_tailed": "sqrt"}, "heavy_tailed"),
        ({"scale": "minmax"}, "scale"),
        ({"impute": "mode"}, "impute"),
        ({"categorical": "ordinal"}, "categorical"),
        ({"missing_indicator": "yes"}, "missing_indicator"),
        ({"skew_threshold": -1.0}, "skew_threshold"),
        ({"kinds": {"a": "exp"}}, "kinds"),
        ({"kinds": ["a"]}, "kinds"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        FeaturePreprocessor(**params).fit(_toy())


def test_errors_before_fit_and_on_other_columns() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        FeaturePreprocessor().transform(_toy())
    pre = preprocessor().fit(_toy())
    with pytest.raises(InvalidParameterError, match="feature names"):
        pre.transform(_toy().drop(columns="constant"))


def test_build_features_output_becomes_a_finite_matrix(features: pd.DataFrame) -> None:
    pre = preprocessor()
    Z = pre.fit_transform(features)
    assert np.isfinite(Z.to_numpy()).all()
    assert Z.index.equals(features.index)
    assert pre.kinds_["purchasing__revenue_total"] == "log"
    assert pre.kinds_["firmographics__log_employees"] == "linear"
    assert pre.kinds_["engagement__portal_share_365d"] == "linear"
    assert pre.kinds_["firmographics__industry"] == "categorical"
    # identical missingness patterns share one indicator
    indicators = [c for c in Z.columns if c.endswith("__missing")]
    patterns = {Z[c].to_numpy().tobytes() for c in indicators}
    assert len(patterns) == len(indicators)
    assert pre.get_feature_names_out().tolist() == Z.columns.tolist()


def test_numpy_output_without_set_output(features: pd.DataFrame) -> None:
    out = FeaturePreprocessor().fit_transform(features)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64


def test_save_and_load_keep_the_pandas_output(features: pd.DataFrame, tmp_path: Any) -> None:
    pre = preprocessor().fit(features)
    again = roundtrip(pre)
    assert_same_state(pre, again)
    pd.testing.assert_frame_equal(again.transform(features), pre.transform(features))
    again = roundtrip(FeaturePreprocessor(kinds={"x": "log"}))
    assert again.kinds == {"x": "log"}


def test_pipeline_with_churn_model_fits_on_build_features_output() -> None:
    from b2bclient.churn import ChurnModel, Inactivity, Surv, survival_frame

    base = bc.datasets.make_client_base(500, seed=3)
    frame = survival_frame(
        base,
        as_of="2025-01-01",
        definition=Inactivity("180D"),
        landmarks=["2024-01-01"],
        features=False,
    )
    X = build_features(base, as_of="2024-01-01").loc[frame["organisation_id"]]
    y = Surv.from_frame(frame)
    pipe = make_pipeline(preprocessor(), ChurnModel())
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.7
    risk = pipe.predict(X)
    assert risk.shape == (len(X),) and np.isfinite(risk).all()


@parametrize_with_checks(
    [FeaturePreprocessor(), FeaturePreprocessor(heavy_tailed="robust", scale="robust")]
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
