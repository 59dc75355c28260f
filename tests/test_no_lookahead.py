"""No look-ahead anywhere: every public function taking ``as_of`` ignores rows at or after it.

One module for the guarantee of DESIGN.md section 4. Adversarial rows come from
:func:`b2bclient.testing.with_future_rows`: new organisations (children of known ones), contacts,
products, deals of every status with amounts of 0 and 1e12, their lines, projects and later
stages of known projects, interactions on every channel, contracts and relationships, all timed
at or after ``as_of`` (the first of each exactly at ``as_of``); and state flips at or after
``as_of``: open deals won or lost, active projects completed or cancelled, running stages ended,
contracts cancelled (churn). Every future is validated (``ClientBase`` with every loading rule),
so the generator cannot hide a look-ahead behind an invalid base.

Each case computes an output on the base and on the base with future rows and asserts that the
two are identical (``check_exact``); estimators are fitted again on the future base. Cheap
functions run under hypothesis; the estimators on two fixed futures (one with extreme values).

Covered elsewhere, with the same generator, and pinned by :func:`test_the_referenced_checks_exist`
so that removing one fails here: the extractors (``b2bclient.testing.check_extractor`` and
``tests/test_features_pointintime.py``), ``ClientBase.as_of`` (``tests/test_as_of.py``),
``rfm_summary`` (``tests/test_btyd_rfm.py``), ``CrossSell`` fit and recommend, ``PartnerMatcher``
fit and match, ``LifecycleModel`` fit and predict and ``stage_funnel``, ``WinModel`` fit,
``predict_proba``, ``training_frame`` and ``forecast``, ``portraits`` with a bundle fitted before
the future rows, and ``WalletModel.potential_``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import b2bclient as bc
from b2bclient.account import HealthScore, Models, portraits
from b2bclient.btyd import discrete_summary, rfm_summary
from b2bclient.churn import Inactivity, survival_frame
from b2bclient.datasets import make_client_base
from b2bclient.features import NextPurchase, build_features, training_frame
from b2bclient.lifecycle import LifecycleModel, stage_funnel, stage_history
from b2bclient.pipeline import WinModel, forecast
from b2bclient.potential import WalletModel
from b2bclient.segment import Segmenter
from b2bclient.testing import with_future_rows

AS_OF = pd.Timestamp("2024-01-01")
YEAR = pd.Timedelta(days=365)


@pytest.fixture(scope="module")
def base() -> bc.ClientBase:
    return make_client_base(n_organisations=300, seed=6)


def future_of(base: bc.ClientBase, seed: int, n_rows: int, extreme: bool) -> bc.ClientBase:
    """The base with adversarial rows at and after AS_OF, validated by every loading rule."""
    tables = with_future_rows(base.tables, AS_OF, seed=seed, n_rows=n_rows, extreme=extreme)
    future = bc.ClientBase(tables)
    assert len(future.organisations) > len(base.organisations)
    assert len(future.deals) > len(base.deals)
    return future


@pytest.fixture(scope="module", params=[(0, 40, True), (1, 15, False)], ids=["extreme", "plain"])
def future(request: pytest.FixtureRequest, base: bc.ClientBase) -> bc.ClientBase:
    seed, n_rows, extreme = request.param
    return future_of(base, seed, n_rows, extreme)


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


# --------------------------------------------------------------------------------------------
# Cheap functions of the base: hypothesis draws the future rows
# --------------------------------------------------------------------------------------------
FUNCTIONS: dict[str, Callable[[bc.ClientBase], Any]] = {
    "build_features": lambda b: build_features(b, as_of=AS_OF),
    "training_frame": lambda b: training_frame(
        b, cutoffs=[AS_OF - 2 * YEAR, AS_OF - YEAR], label=NextPurchase(horizon="180D")
    ),
    "survival_frame": lambda b: survival_frame(
        b, AS_OF, Inactivity("180D"), landmarks=[AS_OF - YEAR], features=False
    ),
    "rfm_summary": lambda b: rfm_summary(b, AS_OF),
    "discrete_summary": lambda b: discrete_summary(b, AS_OF),
    "stage_funnel": lambda b: stage_funnel(b, AS_OF),
    "stage_history": lambda b: stage_history(b, AS_OF),
}


@pytest.fixture(scope="module")
def expected(base: bc.ClientBase) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: f(base) for name, f in FUNCTIONS.items()}


@settings(derandomize=True, deadline=None, max_examples=4, database=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 40), extreme=st.booleans())
def test_future_rows_change_no_frame(
    base: bc.ClientBase, expected: dict[str, Any], seed: int, n_rows: int, extreme: bool
) -> None:
    future = future_of(base, seed, n_rows, extreme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in FUNCTIONS.items():
            try:
                assert_same(f(future), expected[name])
            except AssertionError as exc:
                raise AssertionError(f"{name} saw rows at or after as_of") from exc


def test_the_cheap_cases_see_every_table(base: bc.ClientBase) -> None:
    """The functions above are not trivially empty on this base: the check has teeth."""
    cut = base.as_of(AS_OF)
    assert min(len(cut.tables[n]) for n in ("deals", "stages", "interactions", "contracts")) > 0
    assert len(stage_history(base, AS_OF)) > 0
    assert len(survival_frame(base, AS_OF, Inactivity("180D"), landmarks=[AS_OF - YEAR])) > 0


# --------------------------------------------------------------------------------------------
# Estimators: fitted on the base and again on each future, every output compared
# --------------------------------------------------------------------------------------------
def _segments(b: bc.ClientBase) -> Any:
    X = build_features(b, as_of=AS_OF).select_dtypes("number").fillna(0.0)
    seg = Segmenter(n_segments=3, random_state=0).fit(X)
    return seg.labels_, seg.profile(X)


def _lifecycle(b: bc.ClientBase) -> Any:
    model = LifecycleModel(n_draws=64).fit(b, AS_OF)
    return model.predict(b, AS_OF), model.alerts(b, AS_OF, min_probability=0.0)


def _health(b: bc.ClientBase) -> Any:
    return HealthScore().fit(b, AS_OF).score(b, AS_OF)


def _bundle(b: bc.ClientBase) -> Any:
    models = Models.fit(b, AS_OF)
    ids = sorted(b.as_of(AS_OF).organisations["organisation_id"])[:40]
    return models.names, portraits(b, ids, AS_OF, models, format="jsonl")


def _win(b: bc.ClientBase) -> Any:
    model = WinModel(cv=3).fit(b, as_of=AS_OF)
    outlook = forecast(b, AS_OF, "90D", win_model=model, n_simulations=200)
    return (
        model.p_close_within(b, AS_OF, horizon="90D"),
        model.drivers(b, AS_OF),
        outlook.summary(),
        outlook.by_organisation,
    )


def _wallet(b: bc.ClientBase) -> Any:
    model = WalletModel().fit(b, as_of=AS_OF)
    top = model.ranking(5)
    return top, model.drivers(top.index), model.peers(top.index[0], k=5)


ESTIMATORS: dict[str, Callable[[bc.ClientBase], Any]] = {
    "Segmenter on features": _segments,
    "LifecycleModel fit, predict, alerts": _lifecycle,
    "HealthScore fit, score": _health,
    "Models.fit and portraits": _bundle,
    "WinModel p_close_within, drivers, forecast": _win,
    "WalletModel ranking, drivers, peers": _wallet,
}
_BASE_OUTPUTS: dict[str, Any] = {}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_future_rows_change_no_fitted_output(
    base: bc.ClientBase, future: bc.ClientBase, name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name not in _BASE_OUTPUTS:
            _BASE_OUTPUTS[name] = ESTIMATORS[name](base)
        got = ESTIMATORS[name](future)
    assert_same(got, _BASE_OUTPUTS[name])


# --------------------------------------------------------------------------------------------
# The per-module checks this module relies on
# --------------------------------------------------------------------------------------------
REFERENCED = [
    ("test_features_pointintime", "test_generated_future_rows_change_no_feature"),
    ("test_features_pointintime", "test_drawn_future_rows_and_status_changes_change_no_feature"),
    ("test_as_of", "test_rows_at_or_after_t_never_change_the_view"),
    ("test_btyd_rfm", "test_rfm_summary_ignores_everything_at_or_after_as_of"),
    ("test_recommend_crosssell", "test_rows_at_or_after_as_of_change_nothing"),
    ("test_recommend_partners", "test_rows_at_or_after_as_of_change_nothing"),
    ("test_recommend_partners", "test_the_learnt_model_ignores_future_rows"),
    ("test_lifecycle", "test_future_rows_change_no_prediction"),
    ("test_lifecycle", "test_future_rows_change_no_fit_and_no_funnel"),
    ("test_pipeline", "test_future_rows_change_no_prediction"),
    ("test_account", "test_future_rows_change_no_portrait"),
    ("test_potential", "test_future_rows_change_nothing"),
]


@pytest.mark.parametrize(("module", "test"), REFERENCED, ids=[f"{m}::{t}" for m, t in REFERENCED])
def test_the_referenced_checks_exist(module: str, test: str) -> None:
    assert callable(getattr(importlib.import_module(module), test, None))
