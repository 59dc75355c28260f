"""WalletModel: wallets against the planted truth, whitespace, peers, point in time, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

import b2bclient as bc
from b2bclient import InvalidParameterError, InvalidTablesError, NotFittedError, UnknownIdError
from b2bclient.potential import WalletModel, plot_whitespace
from b2bclient.testing import with_future_rows

END = pd.Timestamp("2025-01-01")
SETTINGS = settings(derandomize=True, deadline=None, max_examples=4, database=None)


@pytest.fixture(scope="module")
def synthetic() -> tuple[Any, Any]:
    return bc.datasets.make_client_base(1500, seed=4, return_truth=True)


@pytest.fixture(scope="module")
def fitted(synthetic: tuple[Any, Any]) -> WalletModel:
    return WalletModel().fit(synthetic[0], as_of=END)


@pytest.fixture(scope="module")
def small() -> Any:
    return bc.datasets.make_client_base(200, seed=1)


def test_wallets_rank_like_the_planted_ones(
    synthetic: tuple[Any, Any], fitted: WalletModel
) -> None:
    base, truth = synthetic
    orgs = base.organisations.set_index("organisation_id")
    known = orgs["created_at"] <= END - pd.Timedelta(days=365.25)
    alive = ~(truth.churned_at.reindex(orgs.index) < END)
    ids = orgs.index[(known & alive).to_numpy()]
    rho = spearmanr(fitted.potential_[ids], truth.wallet[ids]).statistic
    last_year = spearmanr(fitted.spend_[ids], truth.wallet[ids]).statistic
    assert rho > last_year
    # The typical spend over the history ranks the wallets better than last year's spend alone
    # (the model as it was: last year's spend and quantile 0.9).
    before = WalletModel(spend_basis="last_year", quantile=0.9).fit(base, as_of=END)
    pd.testing.assert_series_equal(before.typical_spend_, before.spend_, check_names=False)
    assert rho > spearmanr(before.potential_[ids], truth.wallet[ids]).statistic + 0.05
    # Whitespace lies mostly where the planted share is low.
    share = truth.wallet_share[ids]
    low = (share < share.median()).to_numpy()
    ws = fitted.whitespace_[ids]
    assert ws[low].sum() > 0.55 * ws.sum()


def test_wallet_identities(fitted: WalletModel) -> None:
    assert (fitted.potential_ >= fitted.spend_).all()
    assert (fitted.potential_ >= fitted.typical_spend_).all()
    assert (fitted.typical_spend_ >= 0).all()
    np.testing.assert_allclose(fitted.whitespace_, fitted.potential_ - fitted.spend_)
    assert fitted.share_of_wallet_.between(0, 1).all()
    ranking = fitted.ranking()
    assert ranking["whitespace"].is_monotonic_decreasing
    assert len(fitted.ranking(5)) == 5


def test_peers_and_drivers(fitted: WalletModel) -> None:
    top = fitted.ranking(2).index
    peers = fitted.peers(top[0], k=4)
    assert len(peers) == 4 and top[0] not in peers.index
    assert peers["distance"].is_monotonic_increasing
    d = fitted.drivers(top, k=3)
    assert d.groupby("organisation_id").size().tolist() == [3, 3]
    assert d["feature"].isin(fitted.coefficients_.index).all()


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 30), extreme=st.booleans())
def test_future_rows_change_nothing(seed: int, n_rows: int, extreme: bool) -> None:
    base = bc.datasets.make_client_base(200, seed=1)
    as_of = pd.Timestamp("2024-07-01")
    model = WalletModel().fit(base, as_of=as_of)
    tables = with_future_rows(base.tables, as_of, seed=seed, n_rows=n_rows, extreme=extreme)
    again = WalletModel().fit(bc.ClientBase(tables, validate=False), as_of=as_of)
    pd.testing.assert_series_equal(again.potential_, model.potential_, check_exact=True)


def test_bad_input(small: Any) -> None:
    with pytest.raises(InvalidParameterError, match="quantile"):
        WalletModel(quantile=0.3).fit(small, as_of=END)
    with pytest.raises(InvalidParameterError, match="spend_basis"):
        WalletModel(spend_basis="lifetime").fit(small, as_of=END)
    with pytest.raises(InvalidParameterError, match="inputs"):
        WalletModel(inputs=["no_such_column"]).fit(small, as_of=END)
    with pytest.raises(InvalidParameterError, match="as_of"):
        WalletModel().fit(small)
    with pytest.raises(InvalidTablesError, match="bought"):
        WalletModel().fit(small, as_of="2020-02-01")
    with pytest.raises(NotFittedError):
        WalletModel().ranking()
    model = WalletModel().fit(small, as_of=END)
    with pytest.raises(InvalidParameterError, match="purchasing__revenue_total"):
        model.predict(model.matrix_.iloc[:3])
    with pytest.raises(NotFittedError):
        WalletModel().predict(model.matrix_)
    with pytest.raises(UnknownIdError, match="O-NOPE"):
        model.drivers(["O-NOPE"])
    with pytest.raises(UnknownIdError, match="O-NOPE"):
        model.peers("O-NOPE")


def test_save_load_and_plot(tmp_path: Any, small: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    model = WalletModel().fit(small, as_of=END)
    bc.save(model, tmp_path / "wallet")
    again = bc.load(tmp_path / "wallet")
    pd.testing.assert_frame_equal(again.ranking(), model.ranking())
    pd.testing.assert_frame_equal(
        again.drivers(model.ranking(3).index), model.drivers(model.ranking(3).index)
    )
    bands = small.organisations.set_index("organisation_id")["size_band"]
    ax = plot_whitespace(model, bands)
    assert ax.get_ylabel() == "yearly revenue"
