"""The bad-input corpus for segment, recommend, lifecycle, account, pipeline, potential, privacy.

The same contract as ``tests/test_reliability_corpus.py``: one table of cases, one parametrised
test. Each case calls a public entry point with one bad input and states the ``B2BClientError``
subclass it must raise and the words its message must contain (the parameter, column or table,
and the offending value or ids). A bare ``KeyError``, ``IndexError``, ``TypeError``,
``OverflowError`` or an error from inside pandas or numpy fails the case, and so does a call that
is accepted. Models are fitted once on a small generated base and shared; ``test_case_counts``
pins the number of cases per module, which ``docs/reliability.md`` reports.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient._exceptions import (
    B2BClientError,
    InvalidParameterError,
    NotFittedError,
    UnknownIdError,
)
from b2bclient.account import HealthScore, Models, portrait, portraits
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features
from b2bclient.lifecycle import LifecycleModel, stage_funnel, stage_history
from b2bclient.pipeline import WinModel, backtest, calibration_table, forecast
from b2bclient.potential import WalletModel
from b2bclient.privacy import pseudonymise
from b2bclient.recommend import CrossSell, PartnerMatcher, metrics
from b2bclient.segment import Segmenter

AS_OF = pd.Timestamp("2024-01-01")
BEFORE_ALL = "1990-01-01"  # before the generated base's first row: nothing is known yet
KEY = "a key of at least sixteen bytes"
_STATE: dict[str, Any] = {}


@attrs.frozen
class Case:
    module: str
    name: str
    call: Callable[[], Any]
    error: type[B2BClientError]
    words: tuple[str, ...]


def _cached(name: str, make: Callable[[], Any]) -> Any:
    if name not in _STATE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _STATE[name] = make()
    return _STATE[name]


def base() -> bc.ClientBase:
    return _cached("base", lambda: make_client_base(n_organisations=300, seed=4))


def features() -> pd.DataFrame:
    return _cached("X", lambda: build_features(base(), as_of=AS_OF))


def numeric() -> pd.DataFrame:
    return _cached("numeric", lambda: features().select_dtypes("number").fillna(0.0).iloc[:, :12])


def segmenter() -> Segmenter:
    return _cached("seg", lambda: Segmenter(n_segments=3, random_state=0).fit(numeric()))


def cross_sell() -> CrossSell:
    return _cached("cs", lambda: CrossSell().fit(base(), as_of=AS_OF))


def matcher() -> PartnerMatcher:
    return _cached("pm", lambda: PartnerMatcher().fit(base(), as_of=AS_OF))


def lifecycle() -> LifecycleModel:
    return _cached("life", lambda: LifecycleModel(n_draws=64).fit(base(), AS_OF))


def win() -> WinModel:
    return _cached("win", lambda: WinModel(cv=3).fit(base(), as_of=AS_OF))


def wallet() -> WalletModel:
    return _cached("wallet", lambda: WalletModel().fit(base(), as_of=AS_OF))


def health() -> HealthScore:
    return _cached("health", lambda: HealthScore().fit(base(), AS_OF))


def models() -> Models:
    return _cached("models", lambda: Models.fit(base(), AS_OF))


def an_id() -> str:
    return str(features().index[0])


def _renamed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={frame.columns[0]: "renamed"})


def _with_nan(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.iloc[3, 1] = np.nan
    return out


def _recs() -> pd.DataFrame:
    return pd.DataFrame({"organisation_id": ["O-1", "O-1"], "product_id": ["P-1", "P-2"]})


# --------------------------------------------------------------------------------------------
# segment
# --------------------------------------------------------------------------------------------
SEGMENT = [
    Case(
        "segment",
        "n_segments zero",
        lambda: Segmenter(n_segments=0).fit(numeric()),
        InvalidParameterError,
        ("n_segments", "0"),
    ),
    Case(
        "segment",
        "n_segments text",
        lambda: Segmenter(n_segments="many").fit(numeric()),
        InvalidParameterError,
        ("n_segments", "many"),
    ),
    Case(
        "segment",
        "n_segments above the rows",
        lambda: Segmenter(n_segments=50).fit(numeric().iloc[:20]),
        InvalidParameterError,
        ("n_segments", "50"),
    ),
    Case(
        "segment",
        "unknown method",
        lambda: Segmenter(method="dbscan").fit(numeric()),
        InvalidParameterError,
        ("method", "dbscan"),
    ),
    Case(
        "segment",
        "unknown representation",
        lambda: Segmenter(representation="umap").fit(numeric()),
        InvalidParameterError,
        ("representation", "umap"),
    ),
    Case(
        "segment",
        "max_segments one",
        lambda: Segmenter(max_segments=1).fit(numeric()),
        InvalidParameterError,
        ("max_segments", "1"),
    ),
    Case(
        "segment",
        "random_state text",
        lambda: Segmenter(random_state="seed").fit(numeric()),
        InvalidParameterError,
        ("random_state", "seed"),
    ),
    Case(
        "segment",
        "empty X",
        lambda: Segmenter(n_segments=2).fit(numeric().iloc[:0]),
        InvalidParameterError,
        ("X", "0"),
    ),
    Case(
        "segment",
        "one organisation",
        lambda: Segmenter(n_segments=2).fit(numeric().iloc[:1]),
        InvalidParameterError,
        ("X", "1 sample"),
    ),
    Case(
        "segment",
        "inf in X",
        lambda: Segmenter(n_segments=2).fit(numeric().replace(0.0, np.inf)),
        InvalidParameterError,
        ("inf",),
    ),
    Case(
        "segment",
        "predict before fit",
        lambda: Segmenter().predict(numeric()),
        NotFittedError,
        ("Segmenter", "fit"),
    ),
    Case(
        "segment",
        "profile before fit",
        lambda: Segmenter().profile(numeric()),
        NotFittedError,
        ("Segmenter", "fit"),
    ),
    Case(
        "segment",
        "predict on other columns",
        lambda: segmenter().predict(_renamed(numeric())),
        InvalidParameterError,
        ("renamed",),
    ),
    Case(
        "segment",
        "profile on other columns",
        lambda: segmenter().profile(_renamed(numeric())),
        InvalidParameterError,
        ("renamed",),
    ),
    Case(
        "segment",
        "profile top zero",
        lambda: segmenter().profile(numeric(), top=0),
        InvalidParameterError,
        ("top", "0"),
    ),
    Case(
        "segment",
        "stability n_resamples zero",
        lambda: segmenter().stability(numeric(), n_resamples=0),
        InvalidParameterError,
        ("n_resamples", "0"),
    ),
    Case(
        "segment",
        "stability before fit",
        lambda: Segmenter().stability(numeric()),
        NotFittedError,
        ("Segmenter", "fit"),
    ),
]

# --------------------------------------------------------------------------------------------
# recommend
# --------------------------------------------------------------------------------------------
RECOMMEND = [
    Case(
        "recommend",
        "CrossSell as_of missing",
        lambda: CrossSell().fit(base(), as_of=None),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "recommend",
        "CrossSell as_of text",
        lambda: CrossSell().fit(base(), as_of="someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "recommend",
        "CrossSell base a frame",
        lambda: CrossSell().fit(features(), as_of=AS_OF),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "recommend",
        "CrossSell nothing before as_of",
        lambda: CrossSell().fit(base(), as_of=BEFORE_ALL),
        InvalidParameterError,
        ("as_of", "1990-01-01"),
    ),
    Case(
        "recommend",
        "CrossSell unknown item_model",
        lambda: CrossSell(item_model="svd").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("item_model", "svd"),
    ),
    Case(
        "recommend",
        "CrossSell n_neighbours zero",
        lambda: CrossSell(n_neighbours=0).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("n_neighbours", "0"),
    ),
    Case(
        "recommend",
        "CrossSell horizon negative",
        lambda: CrossSell(horizon="-30D").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("horizon", "-30D"),
    ),
    Case(
        "recommend",
        "CrossSell recommend before fit",
        lambda: CrossSell().recommend(["O-1"]),
        NotFittedError,
        ("CrossSell", "fit"),
    ),
    Case(
        "recommend",
        "CrossSell k zero",
        lambda: cross_sell().recommend([an_id()], k=0),
        InvalidParameterError,
        ("k", "0"),
    ),
    Case(
        "recommend",
        "CrossSell k text",
        lambda: cross_sell().recommend([an_id()], k="ten"),
        InvalidParameterError,
        ("k", "ten"),
    ),
    Case(
        "recommend",
        "CrossSell unknown id",
        lambda: cross_sell().recommend(["O-nobody"]),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "recommend",
        "CrossSell unknown= option",
        lambda: cross_sell().recommend([an_id()], unknown="ignore"),
        InvalidParameterError,
        ("unknown", "ignore"),
    ),
    Case(
        "recommend",
        "CrossSell segments of other ids",
        lambda: CrossSell().fit(
            base(), as_of=AS_OF, segments=pd.Series([1, 2], index=["X-1", "X-2"])
        ),
        InvalidParameterError,
        ("segments",),
    ),
    Case(
        "recommend",
        "PartnerMatcher as_of text",
        lambda: PartnerMatcher().fit(base(), as_of="someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "recommend",
        "PartnerMatcher nothing before as_of",
        lambda: PartnerMatcher().fit(base(), as_of=BEFORE_ALL),
        InvalidParameterError,
        ("as_of", "1990-01-01"),
    ),
    Case(
        "recommend",
        "PartnerMatcher unknown model",
        lambda: PartnerMatcher(model="deep").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("model", "deep"),
    ),
    Case(
        "recommend",
        "PartnerMatcher split out of range",
        lambda: PartnerMatcher(split=1.5).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("split", "1.5"),
    ),
    Case(
        "recommend",
        "PartnerMatcher window_days negative",
        lambda: PartnerMatcher(window_days=-1.0).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("window_days", "-1"),
    ),
    Case(
        "recommend",
        "PartnerMatcher match before fit",
        lambda: PartnerMatcher().match(["O-1"]),
        NotFittedError,
        ("PartnerMatcher", "fit"),
    ),
    Case(
        "recommend",
        "PartnerMatcher k negative",
        lambda: matcher().match([an_id()], k=-1),
        InvalidParameterError,
        ("k", "-1"),
    ),
    Case(
        "recommend",
        "PartnerMatcher unknown id",
        lambda: matcher().match(["O-nobody"]),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "recommend",
        "precision_at_k k zero",
        lambda: metrics.precision_at_k(_recs(), _recs(), k=0),
        InvalidParameterError,
        ("k", "0"),
    ),
    Case(
        "recommend",
        "precision_at_k missing column",
        lambda: metrics.precision_at_k(_recs().drop(columns="organisation_id"), _recs()),
        InvalidParameterError,
        ("organisation_id",),
    ),
    Case(
        "recommend",
        "coverage k negative",
        lambda: metrics.coverage(_recs(), ["P-1"], k=-2),
        InvalidParameterError,
        ("k", "-2"),
    ),
    Case(
        "recommend",
        "pair_recall_at_k missing columns",
        lambda: metrics.pair_recall_at_k(_recs(), _recs()),
        InvalidParameterError,
        ("partner_id",),
    ),
    Case(
        "recommend",
        "future_purchases horizon negative",
        lambda: metrics.future_purchases(base(), AS_OF, horizon="-10D"),
        InvalidParameterError,
        ("horizon", "-10D"),
    ),
    Case(
        "recommend",
        "evaluate_temporal k zero",
        lambda: metrics.evaluate_temporal(CrossSell(), base(), AS_OF, k=0),
        InvalidParameterError,
        ("k", "0"),
    ),
    Case(
        "recommend",
        "evaluate_temporal split_at text",
        lambda: metrics.evaluate_temporal(CrossSell(), base(), "soon"),
        InvalidParameterError,
        ("split_at", "soon"),
    ),
    Case(
        "recommend",
        "evaluate_temporal not a recommender",
        lambda: metrics.evaluate_temporal(Segmenter(), base(), AS_OF),
        InvalidParameterError,
        ("model", "Segmenter"),
    ),
]

# --------------------------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------------------------
LIFECYCLE = [
    Case(
        "lifecycle",
        "fit as_of missing",
        lambda: LifecycleModel().fit(base(), None),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "lifecycle",
        "fit as_of 2300",
        lambda: LifecycleModel().fit(base(), "2300-01-01"),
        InvalidParameterError,
        ("as_of", "2300-01-01"),
    ),
    Case(
        "lifecycle",
        "fit nothing before as_of",
        lambda: LifecycleModel().fit(base(), BEFORE_ALL),
        InvalidParameterError,
        ("as_of", "1990-01-01"),
    ),
    Case(
        "lifecycle",
        "fit base a frame",
        lambda: LifecycleModel().fit(features(), AS_OF),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "lifecycle",
        "unknown covariate",
        lambda: LifecycleModel(covariates=("shoe_size",)).fit(base(), AS_OF),
        InvalidParameterError,
        ("covariates", "shoe_size"),
    ),
    Case(
        "lifecycle",
        "horizon negative",
        lambda: LifecycleModel(horizons=("-30D",)).fit(base(), AS_OF),
        InvalidParameterError,
        ("horizons", "-30D"),
    ),
    Case(
        "lifecycle",
        "penalizer negative",
        lambda: LifecycleModel(penalizer=-1.0).fit(base(), AS_OF),
        InvalidParameterError,
        ("penalizer", "-1"),
    ),
    Case(
        "lifecycle",
        "n_draws zero",
        lambda: LifecycleModel(n_draws=0).fit(base(), AS_OF),
        InvalidParameterError,
        ("n_draws", "0"),
    ),
    Case(
        "lifecycle",
        "predict before fit",
        lambda: LifecycleModel().predict(base(), AS_OF),
        NotFittedError,
        ("LifecycleModel", "fit"),
    ),
    Case(
        "lifecycle",
        "alerts before fit",
        lambda: LifecycleModel().alerts(base(), AS_OF),
        NotFittedError,
        ("LifecycleModel", "fit"),
    ),
    Case(
        "lifecycle",
        "predict before the fit's as_of",
        lambda: lifecycle().predict(base(), "2020-01-01"),
        InvalidParameterError,
        ("as_of", "2020-01-01"),
    ),
    Case(
        "lifecycle",
        "predict horizon text",
        lambda: lifecycle().predict(base(), AS_OF, horizons=["soon"]),
        InvalidParameterError,
        ("horizons", "soon"),
    ),
    Case(
        "lifecycle",
        "predict unknown id",
        lambda: lifecycle().predict(base(), AS_OF, organisation_ids=["O-nobody"]),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "lifecycle",
        "alerts min_probability above one",
        lambda: lifecycle().alerts(base(), AS_OF, min_probability=1.5),
        InvalidParameterError,
        ("min_probability", "1.5"),
    ),
    Case(
        "lifecycle",
        "alerts within negative",
        lambda: lifecycle().alerts(base(), AS_OF, within="-90D"),
        InvalidParameterError,
        ("within", "-90D"),
    ),
    Case(
        "lifecycle",
        "state_occupation negative days",
        lambda: lifecycle().state_occupation([-5.0]),
        InvalidParameterError,
        ("days", "-5"),
    ),
    Case(
        "lifecycle",
        "stage_funnel as_of text",
        lambda: stage_funnel(base(), "someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "lifecycle",
        "stage_funnel base a frame",
        lambda: stage_funnel(features(), AS_OF),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "lifecycle",
        "stage_history unknown covariate",
        lambda: stage_history(base(), AS_OF, covariates=("shoe_size",)),
        InvalidParameterError,
        ("covariates", "shoe_size"),
    ),
]

# --------------------------------------------------------------------------------------------
# account
# --------------------------------------------------------------------------------------------
ACCOUNT = [
    Case(
        "account",
        "portrait unknown id",
        lambda: portrait(base(), "O-nobody", AS_OF),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "account",
        "portrait as_of missing",
        lambda: portrait(base(), an_id(), None),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "account",
        "portrait nothing before as_of",
        lambda: portrait(base(), an_id(), BEFORE_ALL),
        InvalidParameterError,
        ("as_of", "1990-01-01"),
    ),
    Case(
        "account",
        "portrait models fitted after as_of",
        lambda: portrait(base(), an_id(), "2023-06-01", models()),
        InvalidParameterError,
        ("models", "2024-01-01"),
    ),
    Case(
        "account",
        "portrait models not a bundle",
        lambda: portrait(base(), an_id(), AS_OF, models={"churn": None}),
        InvalidParameterError,
        ("models", "dict"),
    ),
    Case(
        "account",
        "portraits unknown format",
        lambda: portraits(base(), [an_id()], AS_OF, format="xml"),
        InvalidParameterError,
        ("format", "xml"),
    ),
    Case(
        "account",
        "portraits unknown ids",
        lambda: portraits(base(), ["O-nobody", "O-none"], AS_OF),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "account",
        "portraits unknown engine",
        lambda: portraits(base(), [an_id()], AS_OF, engine="spark"),
        InvalidParameterError,
        ("engine", "spark"),
    ),
    Case(
        "account",
        "portraits as_of missing",
        lambda: portraits(base(), [an_id()]),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "account",
        "Models.fit unknown part",
        lambda: Models.fit(base(), AS_OF, parts=["crystal_ball"]),
        InvalidParameterError,
        ("crystal_ball",),
    ),
    Case(
        "account",
        "Models.fit unknown errors option",
        lambda: Models.fit(base(), AS_OF, errors="ignore"),
        InvalidParameterError,
        ("errors", "ignore"),
    ),
    Case(
        "account",
        "Models.fit as_of text",
        lambda: Models.fit(base(), "someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "account",
        "HealthScore unknown weights",
        lambda: HealthScore(weights="random").fit(base(), AS_OF),
        InvalidParameterError,
        ("weights", "random"),
    ),
    Case(
        "account",
        "HealthScore weights of an unknown measure",
        lambda: HealthScore(weights={"luck": 1.0}).fit(base(), AS_OF),
        InvalidParameterError,
        ("weights", "luck"),
    ),
    Case(
        "account",
        "HealthScore bands out of order",
        lambda: HealthScore(bands=(80.0, 20.0)).fit(base(), AS_OF),
        InvalidParameterError,
        ("bands", "80"),
    ),
    Case(
        "account",
        "HealthScore horizon negative",
        lambda: HealthScore(horizon="-180D").fit(base(), AS_OF),
        InvalidParameterError,
        ("horizon", "-180D"),
    ),
    Case(
        "account",
        "HealthScore score before fit",
        lambda: HealthScore().score(base(), AS_OF),
        NotFittedError,
        ("HealthScore", "fit"),
    ),
    Case(
        "account",
        "HealthScore as_of text",
        lambda: HealthScore().fit(base(), "someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "account",
        "HealthScore score before its fit",
        lambda: health().score(base(), "2020-01-01"),
        InvalidParameterError,
        ("as_of", "2020-01-01"),
    ),
]

# --------------------------------------------------------------------------------------------
# pipeline
# --------------------------------------------------------------------------------------------
PIPELINE = [
    Case(
        "pipeline",
        "WinModel as_of missing",
        lambda: WinModel().fit(base()),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "pipeline",
        "WinModel nothing before as_of",
        lambda: WinModel().fit(base(), as_of=BEFORE_ALL),
        bc.InvalidTablesError,
        ("deals", "as_of=1990-01-01"),
    ),
    Case(
        "pipeline",
        "WinModel C negative",
        lambda: WinModel(C=-1.0).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("C", "-1"),
    ),
    Case(
        "pipeline",
        "WinModel unknown method",
        lambda: WinModel(method="magic").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("method", "magic"),
    ),
    Case(
        "pipeline",
        "WinModel cv one",
        lambda: WinModel(cv=1).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("cv", "1"),
    ),
    Case(
        "pipeline",
        "WinModel unknown extractor",
        lambda: WinModel(extractors=("tarot",)).fit(base(), as_of=AS_OF),
        B2BClientError,
        ("tarot",),
    ),
    Case(
        "pipeline",
        "WinModel predict before fit",
        lambda: WinModel().predict_proba(base(), as_of=AS_OF),
        NotFittedError,
        ("WinModel", "fit"),
    ),
    Case(
        "pipeline",
        "WinModel p_close_within horizon negative",
        lambda: win().p_close_within(base(), AS_OF, horizon="-90D"),
        InvalidParameterError,
        ("horizon", "-90D"),
    ),
    Case(
        "pipeline",
        "WinModel predict on other columns",
        lambda: win().predict_proba(_renamed(win().deal_frame(base(), AS_OF))),
        InvalidParameterError,
        ("renamed",),
    ),
    Case(
        "pipeline",
        "forecast horizon negative",
        lambda: forecast(base(), AS_OF, "-90D"),
        InvalidParameterError,
        ("horizon", "-90D"),
    ),
    Case(
        "pipeline",
        "forecast level above one",
        lambda: forecast(base(), AS_OF, level=1.5),
        InvalidParameterError,
        ("level", "1.5"),
    ),
    Case(
        "pipeline",
        "forecast n_simulations zero",
        lambda: forecast(base(), AS_OF, n_simulations=0),
        InvalidParameterError,
        ("n_simulations", "0"),
    ),
    Case(
        "pipeline",
        "forecast as_of text",
        lambda: forecast(base(), "someday"),
        InvalidParameterError,
        ("as_of", "someday"),
    ),
    Case(
        "pipeline",
        "forecast unknown organisations",
        lambda: forecast(base(), AS_OF, organisations=["O-nobody"]),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "pipeline",
        "forecast win_model not fitted",
        lambda: forecast(base(), AS_OF, win_model=WinModel()),
        NotFittedError,
        ("WinModel", "fit"),
    ),
    Case(
        "pipeline",
        "backtest no cutoffs",
        lambda: backtest(base(), []),
        InvalidParameterError,
        ("cutoffs",),
    ),
    Case(
        "pipeline",
        "calibration_table n_bins zero",
        lambda: calibration_table([0, 1], [0.2, 0.8], n_bins=0),
        InvalidParameterError,
        ("n_bins", "0"),
    ),
    Case(
        "pipeline",
        "calibration_table probability above one",
        lambda: calibration_table([0, 1], [0.2, 1.8]),
        InvalidParameterError,
        ("1.8",),
    ),
]

# --------------------------------------------------------------------------------------------
# potential
# --------------------------------------------------------------------------------------------
POTENTIAL = [
    Case(
        "potential",
        "quantile one",
        lambda: WalletModel(quantile=1.0).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("quantile", "1"),
    ),
    Case(
        "potential",
        "quantile negative",
        lambda: WalletModel(quantile=-0.1).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("quantile", "-0.1"),
    ),
    Case(
        "potential",
        "quantile text",
        lambda: WalletModel(quantile="high").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("quantile", "high"),
    ),
    Case(
        "potential",
        "unknown input",
        lambda: WalletModel(inputs=("shoe_size",)).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("inputs", "shoe_size"),
    ),
    Case(
        "potential",
        "alpha negative",
        lambda: WalletModel(alpha=-1.0).fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("alpha", "-1"),
    ),
    Case(
        "potential",
        "min_tenure text",
        lambda: WalletModel(min_tenure="long").fit(base(), as_of=AS_OF),
        InvalidParameterError,
        ("min_tenure", "long"),
    ),
    Case(
        "potential",
        "as_of missing",
        lambda: WalletModel().fit(base()),
        InvalidParameterError,
        ("as_of",),
    ),
    Case(
        "potential",
        "nothing before as_of",
        lambda: WalletModel().fit(base(), as_of=BEFORE_ALL),
        bc.InvalidTablesError,
        ("deals", "as_of=1990-01-01"),
    ),
    Case(
        "potential",
        "ranking before fit",
        lambda: WalletModel().ranking(),
        NotFittedError,
        ("WalletModel", "fit"),
    ),
    Case(
        "potential",
        "ranking k zero",
        lambda: wallet().ranking(k=0),
        InvalidParameterError,
        ("k", "0"),
    ),
    Case(
        "potential",
        "peers unknown id",
        lambda: wallet().peers("O-nobody"),
        UnknownIdError,
        ("O-nobody",),
    ),
    Case(
        "potential",
        "peers k negative",
        lambda: wallet().peers(an_id(), k=-1),
        InvalidParameterError,
        ("k", "-1"),
    ),
    Case(
        "potential",
        "drivers unknown ids",
        lambda: wallet().drivers(["O-nobody"]),
        UnknownIdError,
        ("O-nobody",),
    ),
]

# --------------------------------------------------------------------------------------------
# privacy
# --------------------------------------------------------------------------------------------
PRIVACY = [
    Case(
        "privacy",
        "key too short",
        lambda: pseudonymise(base(), "short"),
        InvalidParameterError,
        ("key", "16"),
    ),
    Case(
        "privacy",
        "key not text or bytes",
        lambda: pseudonymise(base(), 12345678901234567890),
        InvalidParameterError,
        ("key", "int"),
    ),
    Case(
        "privacy",
        "base a frame",
        lambda: pseudonymise(features(), KEY),
        InvalidParameterError,
        ("base", "DataFrame"),
    ),
    Case(
        "privacy",
        "organisation_names text",
        lambda: pseudonymise(base(), KEY, organisation_names="yes"),
        InvalidParameterError,
        ("organisation_names", "yes"),
    ),
]

CASES = SEGMENT + RECOMMEND + LIFECYCLE + ACCOUNT + PIPELINE + POTENTIAL + PRIVACY


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


def test_case_counts() -> None:
    """The counts per module that docs/reliability.md states; update both together."""
    counts = Counter(c.module for c in CASES)
    assert dict(counts) == {
        "segment": 17,
        "recommend": 29,
        "lifecycle": 19,
        "account": 19,
        "pipeline": 18,
        "potential": 13,
        "privacy": 4,
    }
    assert len({(c.module, c.name) for c in CASES}) == len(CASES)  # no case twice
