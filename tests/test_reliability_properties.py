"""Properties of loading and of the estimators, under hypothesis.

* Valid tables drawn by hypothesis (unicode and numeric-looking ids, unicode names, times over
  fifty years with microseconds, amounts from 0 to 1e12, every deal status) round-trip unchanged
  through ``from_frames``, Parquet, CSV and SQLite, and keep every row: rows in = rows out.
* The same tables with one spoilt value raise ``InvalidTablesError`` whose problems name the
  spoilt table.
* Every estimator is deterministic for a ``random_state``: fitted twice on the same data, every
  output is identical.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b2bclient as bc
from b2bclient.account import HealthScore
from b2bclient.btyd import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, rfm_summary
from b2bclient.churn import ChurnModel, Surv
from b2bclient.churn._checks import KINDS
from b2bclient.datasets import make_client_base
from b2bclient.features import build_features
from b2bclient.lifecycle import LifecycleModel
from b2bclient.pipeline import WinModel
from b2bclient.potential import WalletModel
from b2bclient.recommend import CrossSell, PartnerMatcher
from b2bclient.segment import Segmenter

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=12,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_TEXT = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
_ID = st.one_of(
    st.from_regex(r"\A0[0-9]{1,5}\Z"),  # "007": must stay text, never 7
    st.from_regex(r"\A[0-9]{1,3}e[0-9]\Z"),  # "1e3": must never become 1000.0
    st.text(_TEXT, min_size=1, max_size=8).map(lambda s: f"Ö-{s}"),
)
_NAME = st.text(_TEXT, min_size=1, max_size=30).map(str.strip).filter(bool)
_TIME = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2040-01-01").to_pydatetime(),
)
_AMOUNT = st.one_of(st.just(0.0), st.floats(0.01, 1e12, allow_nan=False, allow_infinity=False))


@st.composite
def client_frames(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """Valid raw frames: organisations with a holding, deals of every status, interactions."""
    ids = draw(st.lists(_ID, min_size=1, max_size=6, unique=True))
    n = len(ids)
    created = [pd.Timestamp(draw(_TIME)) for _ in ids]
    parents: list[str | None] = [None] + [
        draw(st.one_of(st.none(), st.sampled_from(ids[:i]))) for i in range(1, n)
    ]
    orgs = pd.DataFrame(
        {
            "organisation_id": ids,
            "name": [draw(_NAME) for _ in ids],
            "parent_id": parents,
            "created_at": created,
            "employees": [draw(st.one_of(st.none(), st.integers(1, 10**6))) for _ in ids],
        }
    )
    rows = []
    for k in range(draw(st.integers(0, 12))):
        owner = draw(st.integers(0, n - 1))
        start = created[owner] + pd.Timedelta(seconds=draw(st.integers(0, 10**8)))
        status = draw(st.sampled_from(["open", "won", "lost"]))
        closed = (
            None if status == "open" else start + pd.Timedelta(seconds=draw(st.integers(0, 10**7)))
        )
        rows.append(
            {
                "deal_id": f"D-{k:03d}",
                "organisation_id": ids[owner],
                "created_at": start,
                "closed_at": closed,
                "status": status,
                "amount": draw(_AMOUNT),
                "channel": draw(st.sampled_from(["portal", "sales_rep", "tender", "edi", None])),
            }
        )
    deals = pd.DataFrame(
        rows,
        columns=[
            "deal_id",
            "organisation_id",
            "created_at",
            "closed_at",
            "status",
            "amount",
            "channel",
        ],
    )
    inter = []
    for k in range(draw(st.integers(0, 8))):
        owner = draw(st.integers(0, n - 1))
        inter.append(
            {
                "interaction_id": f"I-{k}",
                "organisation_id": ids[owner],
                "occurred_at": created[owner]
                + pd.Timedelta(microseconds=draw(st.integers(0, 10**14))),
                "channel": draw(st.sampled_from(["portal", "web", "email", "phone"])),
                "kind": draw(st.one_of(st.none(), _NAME)),
            }
        )
    interactions = pd.DataFrame(
        inter, columns=["interaction_id", "organisation_id", "occurred_at", "channel", "kind"]
    )
    return {"organisations": orgs, "deals": deals, "interactions": interactions}


def _load(frames: dict[str, pd.DataFrame]) -> bc.ClientBase:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bc.B2BClientWarning)
        return bc.ClientBase.from_frames(**frames)


@SETTINGS
@given(frames=client_frames())
def test_valid_tables_round_trip_unchanged(
    frames: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = _load(frames)
    for name, frame in frames.items():  # rows in = rows out
        assert len(base.tables[name]) == len(frame), name
    assert (
        base.organisations["organisation_id"].tolist()
        == frames["organisations"]["organisation_id"].tolist()
    )
    np.testing.assert_array_equal(
        base.deals["amount"].to_numpy(), frames["deals"]["amount"].to_numpy(dtype=np.float64)
    )
    assert _load(dict(base.tables)).equals(base)
    where: Path = tmp_path_factory.mktemp("roundtrip")
    base.to_parquet(where / "parquet")
    assert bc.ClientBase.read_parquet(where / "parquet").equals(base), "parquet"
    base.to_csv(where / "csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bc.B2BClientWarning)
        again = bc.ClientBase.read_csv(where / "csv")
    assert again.equals(base), "csv"
    url = f"sqlite:///{where / 'base.db'}"
    base.to_sql(url)
    assert bc.ClientBase.read_sql(url).equals(base), "sqlite"


_SPOILS: dict[str, Callable[[dict[str, pd.DataFrame]], str]] = {}


def _spoil(name: str) -> Callable[[Callable[[dict[str, pd.DataFrame]], str]], Any]:
    def register(f: Callable[[dict[str, pd.DataFrame]], str]) -> Any:
        _SPOILS[name] = f
        return f

    return register


@_spoil("null organisation id")
def _null_id(fr: dict[str, pd.DataFrame]) -> str:
    fr["organisations"].loc[0, "organisation_id"] = None
    return "organisations"


@_spoil("duplicate organisation id")
def _duplicate(fr: dict[str, pd.DataFrame]) -> str:
    orgs = fr["organisations"]
    fr["organisations"] = pd.concat([orgs, orgs.iloc[[0]]], ignore_index=True)
    return "organisations"


@_spoil("created_at in 2300")
def _far_future(fr: dict[str, pd.DataFrame]) -> str:
    orgs = fr["organisations"]
    orgs["created_at"] = orgs["created_at"].astype(object)
    orgs.loc[0, "created_at"] = "2300-01-01"
    return "organisations"


@_spoil("unknown parent")
def _unknown_parent(fr: dict[str, pd.DataFrame]) -> str:
    fr["organisations"].loc[0, "parent_id"] = "nobody at all"
    return "organisations"


@_spoil("deal of an unknown organisation")
def _dangling(fr: dict[str, pd.DataFrame]) -> str:
    deals = fr["deals"]
    if not len(deals):
        fr["deals"] = pd.DataFrame(
            {"organisation_id": ["nobody"], "created_at": ["2030-01-01"], "amount": [1.0]}
        )
    else:
        deals.loc[deals.index[0], "organisation_id"] = "nobody at all"
    return "deals"


@_spoil("negative amount")
def _negative(fr: dict[str, pd.DataFrame]) -> str:
    orgs = fr["organisations"]
    fr["deals"] = pd.DataFrame(
        {
            "organisation_id": [orgs["organisation_id"][0]],
            "created_at": [orgs["created_at"][0]],
            "amount": [-1.0],
        }
    )
    return "deals"


@_spoil("text in employees")
def _text(fr: dict[str, pd.DataFrame]) -> str:
    orgs = fr["organisations"]
    orgs["employees"] = orgs["employees"].astype(object)
    orgs.loc[0, "employees"] = "a few"
    return "organisations"


@SETTINGS
@given(frames=client_frames(), spoil=st.sampled_from(sorted(_SPOILS)))
def test_invalid_tables_raise_invalid_tables_error(
    frames: dict[str, pd.DataFrame], spoil: str
) -> None:
    table = _SPOILS[spoil](frames)
    with pytest.raises(bc.InvalidTablesError) as info:
        _load(frames)
    assert table in set(info.value.problems["table"]), info.value.problems
    assert table in str(info.value)


# --------------------------------------------------------------------------------------------
# Determinism for a random_state
# --------------------------------------------------------------------------------------------
AS_OF = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def base() -> bc.ClientBase:
    return make_client_base(n_organisations=250, seed=8)


@pytest.fixture(scope="module")
def numeric(base: bc.ClientBase) -> pd.DataFrame:
    X = build_features(base, as_of=AS_OF)
    return X.select_dtypes("number").fillna(0.0).iloc[:, :15]


def _churn_data(n: int = 200) -> tuple[pd.DataFrame, Any]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"tickets": rng.poisson(2.0, n).astype(float), "orders": rng.normal(5, 2, n)})
    t = rng.exponential(100.0 * np.exp(-0.2 * X["tickets"]))
    c = rng.uniform(50.0, 300.0, n)
    return X, Surv.from_arrays(np.minimum(t, c), t <= c)


def _segmenter(base: bc.ClientBase, X: pd.DataFrame) -> Any:
    seg = Segmenter(n_segments="auto", max_segments=4, random_state=3).fit(X)
    return seg.labels_, seg.transform(X), seg.stability(X, n_resamples=3, random_state=1)


def _churn(kind: str) -> Callable[[bc.ClientBase, pd.DataFrame], Any]:
    def fit(base: bc.ClientBase, X: pd.DataFrame) -> Any:
        Xc, y = _churn_data()
        horizon = 100.0 if kind in ("gbm", "hgb") else None  # the fixed-horizon kinds
        model = ChurnModel(kind=kind, horizon=horizon, random_state=5).fit(Xc, y)
        return model.predict_churn_probability(Xc, horizon=100.0)

    return fit


def _btyd(model: type) -> Callable[[bc.ClientBase, pd.DataFrame], Any]:
    def fit(base: bc.ClientBase, X: pd.DataFrame) -> Any:
        summary = rfm_summary(base, AS_OF)
        if model is GammaGamma:
            repeat = summary[summary["frequency"] > 0]
            fitted = GammaGamma(penalizer=0.01).fit(repeat)
            return fitted.params_, fitted.conditional_expected_average_profit(repeat)
        fitted = model(penalizer=0.01).fit(summary)
        return fitted.params_, fitted.p_alive(summary)

    return fit


ESTIMATORS: dict[str, Callable[[bc.ClientBase, pd.DataFrame], Any]] = {
    "Segmenter": _segmenter,
    **{f"ChurnModel {kind}": _churn(kind) for kind in KINDS},
    "BetaGeo": _btyd(BetaGeo),
    "ModifiedBetaGeo": _btyd(ModifiedBetaGeo),
    "ParetoNBD": _btyd(ParetoNBD),
    "GammaGamma": _btyd(GammaGamma),
    "CrossSell": lambda b, X: CrossSell(random_state=2).fit(b, AS_OF).recommend(None, k=3),
    "PartnerMatcher": lambda b, X: PartnerMatcher(random_state=2).fit(b, AS_OF).match(None, k=3),
    "LifecycleModel": lambda b, X: (
        LifecycleModel(n_draws=64, random_state=2).fit(b, AS_OF).predict(b, AS_OF)
    ),
    "WinModel": lambda b, X: (
        WinModel(cv=3, random_state=2).fit(b, as_of=AS_OF).predict_proba(b, AS_OF)
    ),
    "WalletModel": lambda b, X: WalletModel(random_state=2).fit(b, as_of=AS_OF).ranking(),
    "HealthScore": lambda b, X: HealthScore().fit(b, AS_OF).score(b, AS_OF),
}


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_estimator_is_deterministic_for_a_random_state(
    base: bc.ClientBase, numeric: pd.DataFrame, name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = ESTIMATORS[name](base, numeric)
        second = ESTIMATORS[name](base, numeric)
    _same(first, second)
