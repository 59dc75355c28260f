"""The bad-input corpus for features' parameters, churn, btyd, persist, datasets and the CLI.

One table of cases, one parametrised test. Each case calls a public entry point with one bad
input and states the ``B2BClientError`` subclass it must raise and the words its message must
contain: the parameter or column, and the offending value or ids. A bare ``KeyError``,
``IndexError``, ``TypeError``, ``OverflowError`` or an error from inside pandas or numpy fails
the case, and so does a call that is accepted. The command line is a table of its own: a
mistake exits with status 2 and a message on standard error naming the option and the value,
never a traceback. ``test_case_counts`` pins the number of cases per module, which
``docs/reliability.md`` reports.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

import b2bclient as bc
from b2bclient._exceptions import (
    B2BClientError,
    FormatError,
    InvalidParameterError,
    NotFittedError,
    RegistryError,
)
from b2bclient.btyd import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    calibration_holdout,
    discrete_summary,
    lifetime_value,
    rfm_summary,
    simulate_summary,
)
from b2bclient.churn import (
    ChurnModel,
    ContractEnd,
    Inactivity,
    Surv,
    metrics,
    survival_frame,
)
from b2bclient.datasets import make_client_base, procurement_oracle
from b2bclient.features import (
    FeaturePreprocessor,
    NextPurchase,
    NoActivity,
    ProcurementReached,
    Purchasing,
    WonDeal,
    build_features,
    get_extractor,
    preprocessor,
    register_extractor,
    training_frame,
    unregister_extractor,
)
from b2bclient.persist import load, save

AS_OF = "2024-01-01"
_STATE: dict[str, Any] = {}


@attrs.frozen
class Case:
    module: str
    name: str
    call: Callable[[], Any]
    error: type[B2BClientError]
    words: tuple[str, ...]


def base() -> bc.ClientBase:
    if "base" not in _STATE:
        _STATE["base"] = make_client_base(n_organisations=120, seed=11)
    return _STATE["base"]


def features() -> pd.DataFrame:
    if "features" not in _STATE:
        _STATE["features"] = build_features(base(), as_of=AS_OF)
    return _STATE["features"]


def summary() -> pd.DataFrame:
    if "summary" not in _STATE:
        _STATE["summary"] = simulate_summary(
            BetaGeo,
            T=52.0,
            n_customers=300,
            params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0},
            random_state=0,
        ).assign(monetary_value=lambda d: np.where(d["frequency"] > 0, 25.0, 0.0))
    return _STATE["summary"]


def fitted_beta_geo() -> BetaGeo:
    if "bg" not in _STATE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _STATE["bg"] = BetaGeo(penalizer=0.01).fit(summary())
    return _STATE["bg"]


def churn_xy(n: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"tickets": rng.poisson(2.0, n).astype(float), "orders": rng.normal(5, 2, n)})
    t = rng.exponential(100.0 * np.exp(-0.2 * X["tickets"]))
    c = rng.uniform(50.0, 300.0, n)
    return X, Surv.from_arrays(np.minimum(t, c), t <= c)


def fitted_churn() -> ChurnModel:
    if "churn" not in _STATE:
        X, y = churn_xy()
        _STATE["churn"] = ChurnModel().fit(X, y)
    return _STATE["churn"]


def with_column(frame: pd.DataFrame, column: str, index: int, value: Any) -> pd.DataFrame:
    out = frame.copy()
    if out[column].dtype != object and isinstance(value, str):
        out[column] = out[column].astype(object)
    out.loc[out.index[index], column] = value
    return out


def churn_X(column: str, index: int, value: Any) -> Callable[[], Any]:
    def call() -> Any:
        X, y = churn_xy()
        return ChurnModel().fit(with_column(X, column, index, value), y)

    return call


def summary_with(column: str, index: int, value: Any, model: type = BetaGeo) -> Callable[[], Any]:
    def call() -> Any:
        return model().fit(with_column(summary(), column, index, value))

    return call


IDX = 7  # the row whose value a case spoils; its label appears in the messages


# --------------------------------------------------------------------------------------------
# features: parameters of the entry points, labels and extractors
# --------------------------------------------------------------------------------------------
FEATURES = [
    Case(
        "features",
        "as_of missing",
        lambda: build_features(base(), as_of=None),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "features",
        "as_of not a time",
        lambda: build_features(base(), as_of="someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "features",
        "as_of a number",
        lambda: build_features(base(), as_of=[1, 2]),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "features",
        "as_of in 2300",
        lambda: build_features(base(), as_of="2300-01-01"),
        InvalidParameterError,
        ("as_of", "2300-01-01", "datetime64[ns]"),
    ),
    Case(
        "features",
        "as_of in 1677",
        lambda: build_features(base(), as_of="1677-01-01"),
        InvalidParameterError,
        ("as_of", "1677-01-01", "datetime64[ns]"),
    ),
    Case(
        "features",
        "base is a frame",
        lambda: build_features(pd.DataFrame(), as_of=AS_OF),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "features",
        "unknown extractor",
        lambda: build_features(base(), as_of=AS_OF, extractors=["nope"]),
        RegistryError,
        ("nope",),
    ),
    Case(
        "features",
        "extractor not a name",
        lambda: build_features(base(), as_of=AS_OF, extractors=[42]),
        InvalidParameterError,
        ("extractors", "42"),
    ),
    Case(
        "features",
        "unknown engine",
        lambda: build_features(base(), as_of=AS_OF, engine="spark"),
        InvalidParameterError,
        ("engine", "spark"),
    ),
    Case(
        "features",
        "get unknown extractor",
        lambda: get_extractor("purchasingg"),
        RegistryError,
        ("purchasingg",),
    ),
    Case(
        "features",
        "unregister unknown",
        lambda: unregister_extractor("nope"),
        RegistryError,
        ("nope",),
    ),
    Case(
        "features",
        "register a duplicate",
        lambda: register_extractor(type(get_extractor("purchasing"))),
        RegistryError,
        ("purchasing",),
    ),
    Case(
        "features",
        "training cutoffs empty",
        lambda: training_frame(base(), cutoffs=[], label=WonDeal("90D")),
        InvalidParameterError,
        ("cutoffs",),
    ),
    Case(
        "features",
        "training cutoff not a time",
        lambda: training_frame(base(), cutoffs=["soon"], label=WonDeal("90D")),
        InvalidParameterError,
        ("soon",),
    ),
    Case(
        "features",
        "training label a string",
        lambda: training_frame(base(), cutoffs=[AS_OF], label="churn"),
        InvalidParameterError,
        ("label", "churn"),
    ),
    Case(
        "features",
        "training horizon negative",
        lambda: training_frame(base(), cutoffs=[AS_OF], label=WonDeal("90D"), horizon="-3D"),
        InvalidParameterError,
        ("horizon", "-3D"),
    ),
    Case(
        "features",
        "NextPurchase horizon negative",
        lambda: NextPurchase(horizon="-3D"),
        InvalidParameterError,
        ("horizon", "-3D"),
    ),
    Case(
        "features",
        "NextPurchase horizon zero",
        lambda: NextPurchase(horizon="0D"),
        InvalidParameterError,
        ("horizon", "0D"),
    ),
    Case(
        "features",
        "WonDeal horizon text",
        lambda: WonDeal(horizon="soon"),
        InvalidParameterError,
        ("horizon", "soon"),
    ),
    Case(
        "features",
        "ProcurementReached horizon None",
        lambda: ProcurementReached(horizon=None),
        InvalidParameterError,
        ("horizon", "None"),
    ),
    Case(
        "features",
        "NoActivity gap negative",
        lambda: NoActivity(gap="-1D"),
        InvalidParameterError,
        ("gap", "-1D"),
    ),
    Case(
        "features",
        "NoActivity window text",
        lambda: NoActivity(active_window="a year"),
        InvalidParameterError,
        ("active_window", "a year"),
    ),
    Case(
        "features",
        "Purchasing windows negative",
        lambda: Purchasing(windows=("-90D",)),
        InvalidParameterError,
        ("windows", "-90D"),
    ),
    Case(
        "features",
        "preprocessor on an empty frame",
        lambda: preprocessor().fit(pd.DataFrame()),
        InvalidParameterError,
        ("X",),
    ),
    Case(
        "features",
        "preprocessor not fitted",
        lambda: preprocessor().transform(features()),
        NotFittedError,
        ("FeaturePreprocessor", "fit"),
    ),
    Case(
        "features",
        "preprocessor on other columns",
        lambda: (
            preprocessor()
            .fit(features())
            .transform(features().drop(columns=["purchasing__orders_total"]))
        ),
        InvalidParameterError,
        ("purchasing__orders_total",),
    ),
    Case(
        "features",
        "preprocessor unknown impute",
        lambda: FeaturePreprocessor(impute="magic").fit(features()),
        InvalidParameterError,
        ("impute", "magic"),
    ),
    Case(
        "features",
        "preprocessor unknown scale",
        lambda: FeaturePreprocessor(scale="huge").fit(features()),
        InvalidParameterError,
        ("scale", "huge"),
    ),
    Case(
        "features",
        "preprocessor unknown kind",
        lambda: FeaturePreprocessor(kinds={"purchasing__orders_total": "money"}).fit(features()),
        InvalidParameterError,
        ("kinds", "money"),
    ),
    Case(
        "features",
        "preprocessor unknown heavy_tailed",
        lambda: FeaturePreprocessor(heavy_tailed="sqrt").fit(features()),
        InvalidParameterError,
        ("heavy_tailed", "sqrt"),
    ),
    Case(
        "features",
        "preprocessor unknown categorical",
        lambda: FeaturePreprocessor(categorical="hash").fit(features()),
        InvalidParameterError,
        ("categorical", "hash"),
    ),
    Case(
        "features",
        "preprocessor skew threshold negative",
        lambda: FeaturePreprocessor(skew_threshold=-1.0).fit(features()),
        InvalidParameterError,
        ("skew_threshold", "-1"),
    ),
]

# --------------------------------------------------------------------------------------------
# churn: definitions, survival frames, Surv, ChurnModel, metrics
# --------------------------------------------------------------------------------------------
CHURN = [
    Case(
        "churn",
        "Inactivity gap negative",
        lambda: Inactivity("-3D"),
        InvalidParameterError,
        ("gap", "-3D"),
    ),
    Case(
        "churn",
        "Inactivity gap text",
        lambda: Inactivity("forever"),
        InvalidParameterError,
        ("gap", "forever"),
    ),
    Case(
        "churn",
        "Inactivity gap zero",
        lambda: Inactivity("0D"),
        InvalidParameterError,
        ("gap", "0D"),
    ),
    Case(
        "churn",
        "ContractEnd grace text",
        lambda: ContractEnd("later"),
        InvalidParameterError,
        ("later",),
    ),
    Case(
        "churn",
        "survival definition a string",
        lambda: survival_frame(base(), AS_OF, "inactive", landmarks="2023-01-01"),
        InvalidParameterError,
        ("definition", "inactive"),
    ),
    Case(
        "churn",
        "survival landmark after as_of",
        lambda: survival_frame(base(), AS_OF, Inactivity("180D"), landmarks="2024-06-01"),
        InvalidParameterError,
        ("landmark", "2024-06-01"),
    ),
    Case(
        "churn",
        "survival landmark not a time",
        lambda: survival_frame(base(), AS_OF, Inactivity("180D"), landmarks="spring"),
        InvalidParameterError,
        ("spring",),
    ),
    Case(
        "churn",
        "survival as_of missing",
        lambda: survival_frame(base(), None, Inactivity("180D"), landmarks="2023-01-01"),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "churn",
        "survival horizon negative",
        lambda: survival_frame(
            base(), AS_OF, Inactivity("180D"), landmarks="2023-01-01", horizon="-1D"
        ),
        InvalidParameterError,
        ("horizon", "-1D"),
    ),
    Case(
        "churn",
        "survival base is a frame",
        lambda: survival_frame(pd.DataFrame(), AS_OF, Inactivity("180D"), landmarks="2023-01-01"),
        InvalidParameterError,
        ("base",),
    ),
    Case(
        "churn",
        "Surv negative duration",
        lambda: Surv.from_arrays([1.0, -2.0], [True, False]),
        InvalidParameterError,
        ("duration", "-2"),
    ),
    Case(
        "churn",
        "Surv NaN duration",
        lambda: Surv.from_arrays([1.0, np.nan], [True, False]),
        InvalidParameterError,
        ("duration",),
    ),
    Case(
        "churn",
        "Surv infinite duration",
        lambda: Surv.from_arrays([1.0, np.inf], [True, False]),
        InvalidParameterError,
        ("duration",),
    ),
    Case(
        "churn",
        "Surv event not boolean",
        lambda: Surv.from_arrays([1.0, 2.0], [1, 5]),
        InvalidParameterError,
        ("event", "5"),
    ),
    Case(
        "churn",
        "Surv lengths differ",
        lambda: Surv.from_arrays([1.0, 2.0], [True]),
        InvalidParameterError,
        ("2", "1"),
    ),
    Case(
        "churn",
        "Surv text durations",
        lambda: Surv.from_arrays(["a", "b"], [True, False]),
        InvalidParameterError,
        ("duration",),
    ),
    Case(
        "churn",
        "kind unknown",
        lambda: ChurnModel(kind="weibull").fit(*churn_xy()),
        InvalidParameterError,
        ("kind", "weibull"),
    ),
    Case(
        "churn",
        "penalizer negative",
        lambda: ChurnModel(penalizer=-1.0).fit(*churn_xy()),
        InvalidParameterError,
        ("penalizer", "-1"),
    ),
    Case(
        "churn",
        "penalizer text",
        lambda: ChurnModel(penalizer="high").fit(*churn_xy()),
        InvalidParameterError,
        ("penalizer", "high"),
    ),
    Case(
        "churn",
        "gbm without horizon",
        lambda: ChurnModel(kind="gbm").fit(*churn_xy()),
        InvalidParameterError,
        ("horizon", "None"),
    ),
    Case(
        "churn",
        "gbm horizon negative",
        lambda: ChurnModel(kind="gbm", horizon="-5D").fit(*churn_xy()),
        InvalidParameterError,
        ("horizon", "-5D"),
    ),
    Case(
        "churn",
        "gbm params unknown",
        lambda: ChurnModel(kind="gbm", horizon="90D", gbm_params={"trees": 3}).fit(*churn_xy()),
        InvalidParameterError,
        ("gbm_params", "trees"),
    ),
    Case("churn", "X with NaN", churn_X("orders", IDX, np.nan), InvalidParameterError, ("orders",)),
    Case("churn", "X with inf", churn_X("orders", IDX, np.inf), InvalidParameterError, ("orders",)),
    Case(
        "churn",
        "X and y of other lengths",
        lambda: ChurnModel().fit(churn_xy()[0].iloc[:50], churn_xy()[1]),
        InvalidParameterError,
        ("50", "120"),
    ),
    Case(
        "churn",
        "y of three columns",
        lambda: ChurnModel().fit(churn_xy()[0], np.ones((120, 3))),
        InvalidParameterError,
        ("y",),
    ),
    Case(
        "churn",
        "X empty",
        lambda: ChurnModel().fit(churn_xy()[0].iloc[:0], churn_xy()[1][:0]),
        InvalidParameterError,
        ("X",),
    ),
    Case(
        "churn",
        "constant column",
        lambda: ChurnModel().fit(churn_xy()[0].assign(flat=1.0), churn_xy()[1]),
        InvalidParameterError,
        ("flat",),
    ),
    Case(
        "churn",
        "all censored",
        lambda: ChurnModel().fit(
            churn_xy()[0], Surv.from_arrays(np.ones(120), np.zeros(120, bool))
        ),
        InvalidParameterError,
        ("censored",),
    ),
    Case(
        "churn",
        "penalizer NaN",
        lambda: ChurnModel(penalizer=float("nan")).fit(*churn_xy()),
        InvalidParameterError,
        ("penalizer", "nan"),
    ),
    Case(
        "churn",
        "score before fit",
        lambda: ChurnModel().score(*churn_xy()),
        NotFittedError,
        ("ChurnModel", "fit"),
    ),
    Case(
        "churn",
        "survival times text",
        lambda: fitted_churn().predict_survival(churn_xy()[0], times=["soon"]),
        InvalidParameterError,
        ("times",),
    ),
    Case(
        "churn",
        "predict before fit",
        lambda: ChurnModel().predict_churn_probability(churn_xy()[0], horizon=90),
        NotFittedError,
        ("ChurnModel", "fit"),
    ),
    Case(
        "churn",
        "predict on other columns",
        lambda: fitted_churn().predict_churn_probability(
            churn_xy()[0].rename(columns={"orders": "order_count"}), horizon=90
        ),
        InvalidParameterError,
        ("orders",),
    ),
    Case(
        "churn",
        "predict horizon negative",
        lambda: fitted_churn().predict_churn_probability(churn_xy()[0], horizon="-3D"),
        InvalidParameterError,
        ("horizon", "-3D"),
    ),
    Case(
        "churn",
        "predict horizon beyond timedelta64",
        lambda: fitted_churn().predict_churn_probability(churn_xy()[0], horizon=575_000),
        InvalidParameterError,
        ("horizon", "575000", "106,751 days"),
    ),
    Case(
        "churn",
        "predict horizon text",
        lambda: fitted_churn().predict_churn_probability(churn_xy()[0], horizon="soon"),
        InvalidParameterError,
        ("horizon", "soon"),
    ),
    Case(
        "churn",
        "survival times negative",
        lambda: fitted_churn().predict_survival(churn_xy()[0], times=[-1.0, 10.0]),
        InvalidParameterError,
        ("times", "-1"),
    ),
    Case(
        "churn",
        "predict on NaN",
        lambda: fitted_churn().predict_churn_probability(
            with_column(churn_xy()[0], "orders", IDX, np.nan), horizon=90
        ),
        InvalidParameterError,
        ("orders",),
    ),
    Case(
        "churn",
        "harrell lengths differ",
        lambda: metrics.concordance_index_harrell(
            churn_xy()[1]["duration"], churn_xy()[1]["event"], np.ones(3)
        ),
        InvalidParameterError,
        ("3", "120"),
    ),
    Case(
        "churn",
        "harrell NaN scores",
        lambda: metrics.concordance_index_harrell(
            churn_xy()[1]["duration"], churn_xy()[1]["event"], np.full(120, np.nan)
        ),
        InvalidParameterError,
        ("NaN",),
    ),
    Case(
        "churn",
        "brier times beyond follow-up",
        lambda: metrics.brier_score(
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            np.full((120, 1), 0.5),
            times=[10_000.0],
        ),
        InvalidParameterError,
        ("times", "10000"),
    ),
    Case(
        "churn",
        "brier probabilities out of range",
        lambda: metrics.brier_score(
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            np.full((120, 1), 1.5),
            times=[50.0],
        ),
        InvalidParameterError,
        ("1.5",),
    ),
    Case(
        "churn",
        "calibration horizon negative",
        lambda: metrics.calibration_at_horizon(
            churn_xy()[1]["duration"], churn_xy()[1]["event"], np.full(120, 0.3), horizon=-5.0
        ),
        InvalidParameterError,
        ("horizon", "-5"),
    ),
    Case(
        "churn",
        "uno tau negative",
        lambda: metrics.concordance_index_uno(
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            churn_xy()[1]["duration"],
            churn_xy()[1]["event"],
            np.ones(120),
            tau=-1.0,
        ),
        InvalidParameterError,
        ("tau", "-1"),
    ),
]

# --------------------------------------------------------------------------------------------
# btyd: summaries, models, value
# --------------------------------------------------------------------------------------------
BTYD = [
    Case(
        "btyd",
        "rfm as_of missing",
        lambda: rfm_summary(base(), as_of=None),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "btyd",
        "rfm as_of text",
        lambda: rfm_summary(base(), as_of="soon"),
        InvalidParameterError,
        ("as_of", "soon"),
    ),
    Case(
        "btyd",
        "rfm freq unknown",
        lambda: rfm_summary(base(), as_of=AS_OF, freq="fortnight"),
        InvalidParameterError,
        ("freq", "fortnight"),
    ),
    Case(
        "btyd",
        "rfm time_unit unknown",
        lambda: rfm_summary(base(), as_of=AS_OF, time_unit="parsec"),
        InvalidParameterError,
        ("time_unit", "parsec"),
    ),
    Case(
        "btyd",
        "rfm base is a frame",
        lambda: rfm_summary(pd.DataFrame(), as_of=AS_OF),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "btyd",
        "holdout end before start",
        lambda: calibration_holdout(base(), calibration_end=AS_OF, holdout_end="2023-01-01"),
        InvalidParameterError,
        ("holdout_end", "2023-01-01"),
    ),
    Case(
        "btyd",
        "discrete period unknown",
        lambda: discrete_summary(base(), as_of=AS_OF, period="decade"),
        InvalidParameterError,
        ("period", "decade"),
    ),
    Case(
        "btyd",
        "summary missing column",
        lambda: BetaGeo().fit(summary().drop(columns="recency")),
        InvalidParameterError,
        ("recency",),
    ),
    Case(
        "btyd",
        "summary a list",
        lambda: BetaGeo().fit([1, 2, 3]),
        InvalidParameterError,
        ("summary", "list"),
    ),
    Case(
        "btyd",
        "frequency negative",
        summary_with("frequency", IDX, -1),
        InvalidParameterError,
        ("frequency", f"[{IDX}]"),
    ),
    Case(
        "btyd",
        "frequency fractional",
        summary_with("frequency", IDX, 1.5),
        InvalidParameterError,
        ("frequency", str(IDX)),
    ),
    Case(
        "btyd",
        "frequency text",
        summary_with("frequency", IDX, "many"),
        InvalidParameterError,
        ("frequency", "many"),
    ),
    Case(
        "btyd",
        "recency beyond T",
        summary_with("recency", IDX, 80.0),
        InvalidParameterError,
        ("recency", str(IDX)),
    ),
    Case(
        "btyd",
        "recency NaN",
        summary_with("recency", IDX, np.nan),
        InvalidParameterError,
        ("recency", str(IDX)),
    ),
    Case(
        "btyd", "T infinite", summary_with("T", IDX, np.inf), InvalidParameterError, ("T", str(IDX))
    ),
    Case(
        "btyd", "T negative", summary_with("T", IDX, -4.0), InvalidParameterError, ("T", str(IDX))
    ),
    Case(
        "btyd",
        "ParetoNBD recency beyond T",
        summary_with("recency", IDX, 80.0, ParetoNBD),
        InvalidParameterError,
        ("recency", str(IDX)),
    ),
    Case(
        "btyd",
        "ModifiedBetaGeo T NaN",
        summary_with("T", IDX, np.nan, ModifiedBetaGeo),
        InvalidParameterError,
        ("T", str(IDX)),
    ),
    Case(
        "btyd",
        "penalizer negative",
        lambda: BetaGeo(penalizer=-0.1).fit(summary()),
        InvalidParameterError,
        ("penalizer", "-0.1"),
    ),
    Case(
        "btyd",
        "penalizer text",
        lambda: ParetoNBD(penalizer="some").fit(summary()),
        InvalidParameterError,
        ("penalizer", "some"),
    ),
    Case(
        "btyd",
        "covariates_on unknown",
        lambda: BetaGeo(covariates_on=("rate",)).fit(summary(), covariates=np.ones((300, 1))),
        InvalidParameterError,
        ("covariates_on", "rate"),
    ),
    Case(
        "btyd",
        "covariates of other length",
        lambda: BetaGeo().fit(summary(), covariates=np.ones((10, 1))),
        InvalidParameterError,
        ("covariates", "10"),
    ),
    Case(
        "btyd",
        "covariates with NaN",
        lambda: BetaGeo().fit(summary(), covariates=np.full((300, 1), np.nan)),
        InvalidParameterError,
        ("covariates",),
    ),
    Case(
        "btyd",
        "nobody repeats",
        lambda: BetaGeo().fit(summary().assign(frequency=0, recency=0.0)),
        InvalidParameterError,
        ("frequency 0",),
    ),
    Case(
        "btyd",
        "p_alive before fit",
        lambda: BetaGeo().p_alive(summary()),
        NotFittedError,
        ("BetaGeo", "fit"),
    ),
    Case(
        "btyd",
        "expected purchases t negative",
        lambda: fitted_beta_geo().conditional_expected_purchases(-4, summary()),
        InvalidParameterError,
        ("t", "-4"),
    ),
    Case(
        "btyd",
        "expected purchases t text",
        lambda: fitted_beta_geo().expected_purchases("soon"),
        InvalidParameterError,
        ("t", "soon"),
    ),
    Case(
        "btyd",
        "GammaGamma monetary negative",
        summary_with(
            "monetary_value",
            int(np.argmax(summary()["frequency"].to_numpy() > 0)),
            -5.0,
            GammaGamma,
        ),
        InvalidParameterError,
        ("monetary_value",),
    ),
    Case(
        "btyd",
        "GammaGamma one repeat buyer",
        lambda: GammaGamma().fit(
            summary()
            .iloc[:0]
            .pipe(
                lambda d: pd.concat(
                    [
                        d,
                        pd.DataFrame(
                            {
                                "frequency": [2, 0],
                                "recency": [3.0, 0.0],
                                "T": [9.0, 9.0],
                                "monetary_value": [3.0, 0.0],
                            }
                        ),
                    ]
                )
            )
        ),
        InvalidParameterError,
        ("repeat", "1"),
    ),
    Case(
        "btyd",
        "GammaGamma missing monetary",
        lambda: GammaGamma().fit(summary().drop(columns="monetary_value")),
        InvalidParameterError,
        ("monetary_value",),
    ),
    Case(
        "btyd",
        "GammaGamma penalizer negative",
        lambda: GammaGamma(penalizer=-1.0).fit(summary()),
        InvalidParameterError,
        ("penalizer", "-1"),
    ),
    Case(
        "btyd",
        "ParetoNBD p_alive before fit",
        lambda: ParetoNBD().p_alive(summary()),
        NotFittedError,
        ("ParetoNBD", "fit"),
    ),
    Case(
        "btyd",
        "BG/BB p_alive before fit",
        lambda: BetaGeoBetaBinom().p_alive(summary()),
        NotFittedError,
        ("BetaGeoBetaBinom", "fit"),
    ),
    Case(
        "btyd",
        "GammaGamma profit before fit",
        lambda: GammaGamma().conditional_expected_average_profit(summary()),
        NotFittedError,
        ("GammaGamma", "fit"),
    ),
    Case(
        "btyd",
        "lifetime time negative",
        lambda: lifetime_value(fitted_beta_geo(), summary(), time=-1),
        InvalidParameterError,
        ("time", "-1"),
    ),
    Case(
        "btyd",
        "lifetime discount negative",
        lambda: lifetime_value(fitted_beta_geo(), summary(), discount_rate=-0.5),
        InvalidParameterError,
        ("discount_rate", "-0.5"),
    ),
    Case(
        "btyd",
        "lifetime unfitted model",
        lambda: lifetime_value(BetaGeo(), summary()),
        NotFittedError,
        ("BetaGeo", "fit"),
    ),
    Case(
        "btyd",
        "lifetime time_unit unknown",
        lambda: lifetime_value(fitted_beta_geo(), summary(), time_unit="lightyear"),
        InvalidParameterError,
        ("time_unit", "lightyear"),
    ),
    Case(
        "btyd",
        "simulate no customers",
        lambda: simulate_summary(
            BetaGeo, T=52.0, n_customers=0, params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}
        ),
        InvalidParameterError,
        ("n_customers", "0"),
    ),
    Case(
        "btyd",
        "simulate params missing",
        lambda: simulate_summary(BetaGeo, T=52.0, n_customers=10, params={"r": 0.5}),
        InvalidParameterError,
        ("params", "alpha"),
    ),
    Case(
        "btyd",
        "simulate n_customers text",
        lambda: simulate_summary(
            BetaGeo, T=52.0, n_customers="many", params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}
        ),
        InvalidParameterError,
        ("n_customers", "many"),
    ),
    Case(
        "btyd",
        "lifetime discount text",
        lambda: lifetime_value(fitted_beta_geo(), summary(), discount_rate="low"),
        InvalidParameterError,
        ("discount_rate", "low"),
    ),
    Case(
        "btyd",
        "simulate T negative",
        lambda: simulate_summary(
            BetaGeo, T=-1.0, n_customers=10, params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}
        ),
        InvalidParameterError,
        ("T", "-1"),
    ),
    Case(
        "btyd",
        "BG/BB summary missing n_periods",
        lambda: BetaGeoBetaBinom().fit(summary()),
        InvalidParameterError,
        ("n_periods",),
    ),
]


# --------------------------------------------------------------------------------------------
# persist
# --------------------------------------------------------------------------------------------
def _tmp() -> Path:
    return _STATE["tmp"]


def _saved() -> Path:
    target = _tmp() / "saved-scaler"
    if not target.exists():
        save(StandardScaler().fit(np.ones((3, 2))), target)
    return target


PERSIST = [
    Case(
        "persist",
        "save path None",
        lambda: save(StandardScaler(), None),
        InvalidParameterError,
        ("path", "None"),
    ),
    Case(
        "persist",
        "save path a number",
        lambda: save(StandardScaler(), 3),
        InvalidParameterError,
        ("path", "3"),
    ),
    Case(
        "persist",
        "save over a model",
        lambda: save(StandardScaler(), _saved()),
        InvalidParameterError,
        ("path", "overwrite=True"),
    ),
    Case(
        "persist",
        "save a dict",
        lambda: save({"a": 1}, _tmp() / "dict"),
        FormatError,
        ("builtins.dict",),
    ),
    Case(
        "persist",
        "save a lambda in the state",
        lambda: save(StandardScaler().set_params(copy=lambda: 0), _tmp() / "fn"),
        FormatError,
        ("StandardScaler.copy", "function"),
    ),
    Case(
        "persist",
        "save a lifelines fitter",
        lambda: save(_holder_of_fitter(), _tmp() / "ll"),
        FormatError,
        ("KaplanMeierFitter",),
    ),
    Case("persist", "load path None", lambda: load(None), InvalidParameterError, ("path", "None")),
    Case(
        "persist",
        "load a missing path",
        lambda: load(_tmp() / "absent"),
        FormatError,
        ("absent", "no saved model"),
    ),
    Case(
        "persist",
        "load a text file",
        lambda: load(_text_file()),
        FormatError,
        ("notes.txt", "neither a directory nor a zip"),
    ),
    Case(
        "persist",
        "save over a foreign directory",
        lambda: save(StandardScaler(), _text_file().parent, overwrite=True),
        InvalidParameterError,
        ("path", "never replaced"),
    ),
    Case(
        "persist",
        "load an empty directory",
        lambda: load(_empty_dir()),
        FormatError,
        ("manifest.json",),
    ),
]


def _holder_of_fitter() -> Any:
    from lifelines import KaplanMeierFitter

    model = StandardScaler()
    model.mean_ = KaplanMeierFitter()
    return model


def _text_file() -> Path:
    path = _tmp() / "notes.txt"
    path.write_text("not a model")
    return path


def _empty_dir() -> Path:
    path = _tmp() / "empty"
    path.mkdir(exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------------
def _small() -> tuple[bc.ClientBase, Any]:
    if "small" not in _STATE:
        _STATE["small"] = make_client_base(n_organisations=60, seed=3, return_truth=True)
    small: tuple[bc.ClientBase, Any] = _STATE["small"]
    return small


DATASETS = [
    Case(
        "datasets",
        "n_organisations zero",
        lambda: make_client_base(n_organisations=0),
        InvalidParameterError,
        ("n_organisations", "0"),
    ),
    Case(
        "datasets",
        "n_organisations negative",
        lambda: make_client_base(n_organisations=-5),
        InvalidParameterError,
        ("n_organisations", "-5"),
    ),
    Case(
        "datasets",
        "n_organisations text",
        lambda: make_client_base(n_organisations="many"),
        InvalidParameterError,
        ("n_organisations", "many"),
    ),
    Case(
        "datasets",
        "n_organisations fractional",
        lambda: make_client_base(n_organisations=10.5),
        InvalidParameterError,
        ("n_organisations", "10.5"),
    ),
    Case(
        "datasets",
        "seed negative",
        lambda: make_client_base(n_organisations=10, seed=-1),
        InvalidParameterError,
        ("seed", "-1"),
    ),
    Case(
        "datasets",
        "seed text",
        lambda: make_client_base(n_organisations=10, seed="x"),
        InvalidParameterError,
        ("seed", "x"),
    ),
    Case(
        "datasets",
        "difficulty text",
        lambda: make_client_base(n_organisations=10, difficulty="hard"),
        InvalidParameterError,
        ("difficulty", "hard"),
    ),
    Case(
        "datasets",
        "difficulty out of range",
        lambda: make_client_base(n_organisations=10, difficulty=7.0),
        InvalidParameterError,
        ("difficulty", "7"),
    ),
    Case(
        "datasets",
        "difficulty NaN",
        lambda: make_client_base(n_organisations=10, difficulty=float("nan")),
        InvalidParameterError,
        ("difficulty", "nan"),
    ),
    Case(
        "datasets",
        "start after end",
        lambda: make_client_base(n_organisations=10, start="2025-01-01", end="2020-01-01"),
        InvalidParameterError,
        ("start", "end"),
    ),
    Case(
        "datasets",
        "end in 2300",
        lambda: make_client_base(n_organisations=10, end="2300-01-01"),
        InvalidParameterError,
        ("end", "2300-01-01", "datetime64[ns]"),
    ),
    Case(
        "datasets",
        "start not a time",
        lambda: make_client_base(n_organisations=10, start="dawn"),
        InvalidParameterError,
        ("start", "dawn"),
    ),
    Case(
        "datasets",
        "landmark outside",
        lambda: make_client_base(n_organisations=10, landmark="1999-01-01"),
        InvalidParameterError,
        ("landmark", "1999"),
    ),
    Case(
        "datasets",
        "return_truth text",
        lambda: make_client_base(n_organisations=10, return_truth="yes"),
        InvalidParameterError,
        ("return_truth", "yes"),
    ),
    Case(
        "datasets",
        "oracle horizon negative",
        lambda: procurement_oracle(*_small(), AS_OF, horizons=["-30D"]),
        InvalidParameterError,
        ("horizon", "-30D"),
    ),
    Case(
        "datasets",
        "oracle as_of text",
        lambda: procurement_oracle(*_small(), "soon"),
        InvalidParameterError,
        ("as_of", "soon"),
    ),
    Case(
        "datasets",
        "oracle truth missing",
        lambda: procurement_oracle(base(), None, AS_OF),
        InvalidParameterError,
        ("truth", "None"),
    ),
    Case(
        "datasets",
        "oracle n_draws zero",
        lambda: procurement_oracle(*_small(), AS_OF, n_draws=0),
        InvalidParameterError,
        ("n_draws", "0"),
    ),
]

CASES = FEATURES + CHURN + BTYD + PERSIST + DATASETS


@pytest.fixture(scope="module", autouse=True)
def scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    _STATE["tmp"] = tmp_path_factory.mktemp("corpus")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.module}: {c.name}" for c in CASES])
def test_bad_input_raises_a_precise_b2bclient_error(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(B2BClientError) as info:
            case.call()
    error = info.value
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    message = str(error)
    missing = [w for w in case.words if w.lower() not in message.lower()]
    assert not missing, f"the message does not name {missing}: {message}"
    assert "Traceback" not in message


# --------------------------------------------------------------------------------------------
# the command line: exit status 2 and a message naming the option and the value
# --------------------------------------------------------------------------------------------
CLI = [
    (["demo", "-n", "0"], ("-n", "0")),
    (["demo", "-n", "many"], ("-n", "many")),
    (["demo", "-n", "-3"], ("-n", "-3")),
    (["demo", "--seed", "x"], ("--seed", "x")),
    (["demo", "--seed", "-1"], ("--seed", "-1")),
    (["demo", "--frobnicate"], ("--frobnicate",)),
    (["report", "base", "--as-of", "someday"], ("as_of", "someday")),
    (
        ["report", "base", "--as-of", "2025-01-01", "--landmark", "2026-01-01"],
        ("landmark", "2026-01-01"),
    ),
    (["report", "base", "--as-of", "2025-01-01", "--landmark", "later"], ("landmark", "later")),
    (["report", "base"], ("--as-of",)),
    (["report", "base", "--as-of", "2300-01-01"], ("as_of", "2300-01-01", "datetime64[ns]")),
    (["report", "base", "--as-of", "1677-09-22"], ("--as-of", "1677-09-22", "--landmark")),
    (["report", "base", "--as-of", "2025-01-01", "--seed", "x"], ("--seed", "x")),
    (["validate"], ("SOURCE",)),
    (["frobnicate"], ("frobnicate",)),
]


@pytest.mark.parametrize(("args", "words"), CLI, ids=[" ".join(a) for a, _ in CLI])
def test_cli_mistakes_exit_2_naming_the_option(
    args: list[str], words: tuple[str, ...], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from b2bclient.cli import main

    out = io.StringIO()
    extra = ["-o", str(tmp_path / "out")] if args[0] == "report" and len(args) > 2 else []
    assert main([*args, *extra], stream=out) == 2
    err = capsys.readouterr().err
    missing = [w for w in words if w not in err]
    assert not missing, f"stderr does not name {missing}: {err}"
    assert "Traceback" not in err + out.getvalue()


def test_case_counts() -> None:
    """The counts per module that docs/reliability.md states; update both together."""
    counts = Counter(c.module for c in CASES)
    counts["cli"] = len(CLI)
    assert dict(counts) == {
        "features": 32,
        "churn": 45,
        "btyd": 44,
        "persist": 11,
        "datasets": 18,
        "cli": 15,
    }
    assert len({(c.module, c.name) for c in CASES}) == len(CASES)  # no case twice
