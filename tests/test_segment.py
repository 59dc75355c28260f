"""Segmenter: fitting, predicting new organisations, profiles, stability, errors, persistence."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import b2bclient as bc
from b2bclient import InvalidParameterError, NotFittedError
from b2bclient.features import build_features
from b2bclient.persist import assert_same_state, roundtrip
from b2bclient.segment import Segmenter

END = "2025-01-01"


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    base, truth = bc.datasets.make_client_base(700, seed=2, difficulty=0.0, return_truth=True)
    X = build_features(base, as_of=END)
    return X, truth.segment.reindex(X.index)


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, pd.Series]) -> dict[str, Segmenter]:
    X, _ = data
    out = {
        method: Segmenter(method=method, n_segments=4, random_state=0).fit(X)
        for method in ("gmm", "kmeans", "kprototypes")
    }
    out["hdbscan"] = Segmenter(method="hdbscan", min_segment_size=10, random_state=0).fit(X)
    return out


def test_top_level_name_is_lazy() -> None:
    code = (
        "import sys, b2bclient as bc; "
        "print('b2bclient.segment' in sys.modules, 'sklearn.cluster' in sys.modules); "
        "bc.Segmenter; print('b2bclient.segment' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False", "True"]
    assert bc.Segmenter is bc.segment.Segmenter
    assert "Segmenter" in dir(bc)


@pytest.mark.parametrize("method", ["gmm", "kmeans", "kprototypes"])
def test_fit_labels_transform(
    fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series], method: str
) -> None:
    X, truth = data
    seg = fitted[method]
    assert seg.n_segments_ == 4
    assert seg.representation_ == "profile"
    assert seg.labels_.dtype == np.int64 and seg.labels_.shape == (len(X),)
    counts = np.bincount(seg.labels_, minlength=4)
    assert (np.diff(counts) <= 0).all(), "segments are numbered by size"
    np.testing.assert_array_equal(seg.predict(X), seg.labels_)
    np.testing.assert_array_equal(seg.fit_predict(X), seg.labels_)
    out = seg.transform(X)
    assert out.shape == (len(X), 4)
    if method == "gmm":
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
        np.testing.assert_array_equal(out.argmax(axis=1), seg.labels_)
        np.testing.assert_allclose(seg.predict_proba(X), out)
    else:
        np.testing.assert_array_equal(out.argmin(axis=1), seg.labels_)
        assert not hasattr(seg, "predict_proba")
    assert seg.get_feature_names_out().tolist() == [f"segment_{j}" for j in range(4)]
    pandas_out = seg.set_output(transform="pandas").transform(X)
    assert pandas_out.index.equals(X.index) and pandas_out.columns[0] == "segment_0"
    seg.set_output(transform="default")
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, seg.labels_) > 0.15


def test_kprototypes_takes_every_category_and_the_mixture_none(
    fitted: dict[str, Segmenter],
) -> None:
    assert fitted["gmm"].categorical_columns_ == []
    assert fitted["kprototypes"].categorical_columns_ == [
        "firmographics__industry",
        "firmographics__region",
        "firmographics__size_band",
    ]
    assert fitted["kprototypes"].gamma_ > 0
    assert fitted["kmeans"].categorical_columns_ == []


def test_hdbscan_finds_its_own_number_and_predicts_new_rows(
    fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    seg = fitted["hdbscan"]
    assert seg.selection_["criterion"].tolist() == ["hdbscan"]
    assert set(np.unique(seg.labels_)) <= set(range(-1, seg.n_segments_))
    predicted = seg.predict(X.iloc[:50])
    assert ((predicted >= 0) | (seg.n_segments_ == 0)).all()


def test_predict_new_organisations_point_in_time(fitted: dict[str, Segmenter]) -> None:
    """Organisations of another base are assigned with the model learnt on the first."""
    other = bc.datasets.make_client_base(150, seed=11, difficulty=0.0)
    X_new = build_features(other, as_of=END)
    for method in ("gmm", "kmeans", "kprototypes"):
        labels = fitted[method].predict(X_new)
        assert labels.shape == (150,)
        assert set(np.unique(labels)) <= set(range(4))


def test_young_organisations_are_shrunk_not_scattered(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    seg = Segmenter(method="kmeans", n_segments=3, random_state=0).fit(X)
    design = seg._design(X, "test")
    young = X["firmographics__age_days"].to_numpy() < 60
    assert young.any()
    # a rate over a few weeks lies closer to the population centre than the raw estimate
    raw = np.nan_to_num(design.values, nan=0.0)
    assert np.abs(design.shrunk[young]).mean() < np.abs(raw[young]).mean()


def test_profile_counts_every_deal_and_the_channel_mix_beside_the_portal() -> None:
    from b2bclient.segment._representation import available_dimensions, measure

    # Two organisations active for two years: the same 20 deals, won 4 and 16 times; the first
    # bought 10 times in the last year, 5 on the portal and 4 by tender.
    X = pd.DataFrame(
        {
            "firmographics__age_days": [730.5, 730.5],
            "engagement__last_touch_days": [91.3125, 91.3125],
            "purchasing__recency_days": [200.0, 200.0],
            "purchasing__orders_total": [4.0, 16.0],
            "pipeline__lost_total": [14.0, 4.0],
            "pipeline__open_deals": [2.0, 0.0],
            "purchasing__orders_365d": [10.0, 0.0],
            "purchasing__share_portal_365d": [0.5, 0.0],
            "purchasing__share_tender_365d": [0.4, 0.0],
        }
    )
    dims = available_dimensions(X.columns)
    assert {"deal_rate", "win_odds", "portal_orders", "tender_orders"} <= {d.name for d in dims}
    m = measure(X, dims).values
    # 20 deals over 2 years of activity (last touch a quarter of a year ago, plus the pad)
    np.testing.assert_allclose(m["deal_rate"], np.log(20.5 / 2.0))
    # the win odds: 4 of 18 closed (the open deals do not count), smoothed by half a win
    np.testing.assert_allclose(m["win_odds"].iloc[0], np.log(4.5 / 14.5))
    assert m["win_odds"].iloc[1] > 0 > m["win_odds"].iloc[0]
    # tender: 4 of the 5 purchases not made on the portal, not 4 of 10
    np.testing.assert_allclose(m["tender_orders"].iloc[0], np.log(4.5 / 1.5))
    np.testing.assert_allclose(m["portal_orders"].iloc[0], 0.0)
    # no purchase in the last year: no channel mix at all
    assert np.isnan(m["tender_orders"].iloc[1])


def test_n_segments_auto_records_every_candidate(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    seg = Segmenter(method="kmeans", max_segments=5, random_state=0).fit(X)
    table = seg.selection_
    assert table.index.tolist() == [2, 3, 4, 5]
    assert table["criterion"].unique().tolist() == ["silhouette"]
    assert table.loc[seg.n_segments_, "chosen"] and table["chosen"].sum() == 1
    assert table.loc[seg.n_segments_, "score"] == table["score"].max()
    gmm = Segmenter(max_segments=3, n_init=1, random_state=0).fit(X)
    assert gmm.selection_["criterion"].unique().tolist() == ["bic"]
    assert gmm.selection_.loc[gmm.n_segments_, "score"] == gmm.selection_["score"].min()
    assert {"log_likelihood", "icl", "n_parameters", "gain_ratio"} <= set(gmm.selection_.columns)
    t = gmm.selection_
    n = len(X)
    assert np.isnan(t["gain_ratio"].iloc[0])
    expected = (
        2.0
        * (t.loc[3, "log_likelihood"] - t.loc[2, "log_likelihood"])
        / ((t.loc[3, "n_parameters"] - t.loc[2, "n_parameters"]) * np.log(n))
    )
    np.testing.assert_allclose(t.loc[3, "gain_ratio"], expected)
    # The BIC prefers 3 over 2 exactly when the gain outweighs the added penalty.
    assert (t.loc[3, "score"] < t.loc[2, "score"]) == (t.loc[3, "gain_ratio"] > 1)
    stable = Segmenter(method="kmeans", max_segments=3, selection="stability", random_state=0)
    stable.fit(X)
    assert stable.selection_["criterion"].unique().tolist() == ["stability"]
    assert stable.selection_["score"].between(-1, 1).all()


def test_profile_reads_like_a_report(
    fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    table = fitted["gmm"].profile(X)
    assert table.index.tolist() == [0, 1, 2, 3]
    assert table.columns.tolist() == [
        "label",
        "organisations",
        "share",
        "revenue_share",
        "industries",
        "regions",
        "higher",
        "lower",
    ]
    assert table["organisations"].sum() == len(X)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["revenue_share"].sum() == pytest.approx(1.0)
    assert table.attrs["revenue_column"] == "purchasing__revenue_365d"
    assert table["label"].str.contains("clients").all()
    assert table["higher"].str.contains(r"\(\+\d\.\d sd\)").all()
    assert "__" not in " ".join(table["higher"])  # plain names, not column names
    diff = fitted["gmm"].differences(X)
    assert diff.shape[1] == 4 and "purchasing__orders_total" in diff.index


def test_profile_label_names_a_distinct_segment() -> None:
    """A segment of large, portal-heavy construction clients is labelled so."""
    from b2bclient.segment._profile import profile_table

    rng = np.random.default_rng(0)
    n = 400
    special = np.arange(n) < 100
    X = pd.DataFrame(
        {
            "firmographics__industry": pd.Categorical(
                np.where(special, "construction", rng.choice(["food", "steel", "retail"], n))
            ),
            "firmographics__size_band": pd.Categorical(
                np.where(special, "large", "small"),
                categories=["micro", "small", "medium", "large", "enterprise"],
                ordered=True,
            ),
            "purchasing__share_portal_365d": np.where(special, 0.8, 0.1) + rng.random(n) * 0.1,
            "purchasing__revenue_365d": rng.random(n) * 1000,
        }
    )
    table = profile_table(X, special.astype(np.int64) * -1 + 1, top=2)
    assert table.loc[0, "label"] == "large construction clients, portal-heavy"


def test_stability(fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    table = fitted["kmeans"].stability(X, n_resamples=3, random_state=0)
    assert table.index.tolist() == ["all", 0, 1, 2, 3]
    assert table.columns.tolist() == ["organisations", "ari", "ari_sd", "jaccard"]
    assert table.loc["all", "organisations"] == len(X)
    assert table[["ari", "jaccard"]].stack().between(-1, 1).all()
    assert table.loc["all", "ari"] > 0.3
    assert table.attrs["n_resamples"] == 3
    again = fitted["kmeans"].stability(X, n_resamples=3, random_state=0)
    pd.testing.assert_frame_equal(table, again)
    with pytest.raises(InvalidParameterError, match="'n_resamples'"):
        fitted["kmeans"].stability(X, n_resamples=0)


@pytest.mark.parametrize("method", ["gmm", "kmeans", "kprototypes", "hdbscan"])
def test_save_and_load(
    fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series], method: str
) -> None:
    X, _ = data
    seg = fitted[method].set_output(transform="pandas")
    again = roundtrip(seg, archive=method == "gmm")
    assert_same_state(seg, again)
    np.testing.assert_array_equal(again.predict(X), seg.predict(X))
    pd.testing.assert_frame_equal(again.transform(X), seg.transform(X))
    seg.set_output(transform="default")


def test_features_representation_for_other_frames() -> None:
    rng = np.random.default_rng(0)
    centres = np.repeat(np.array([[0.0, 0.0], [6.0, 6.0], [0.0, 6.0]]), 60, axis=0)
    X = pd.DataFrame(centres + rng.normal(size=centres.shape), columns=["a", "b"])
    X["kind"] = pd.Categorical(np.repeat(["x", "y", "z"], 60))
    truth = np.repeat([0, 1, 2], 60)
    from sklearn.metrics import adjusted_rand_score

    for method in ("gmm", "kmeans", "kprototypes"):
        seg = Segmenter(method=method, random_state=0).fit(X)
        assert seg.representation_ == "features"
        assert seg.n_segments_ == 3, method
        assert adjusted_rand_score(truth, seg.labels_) > 0.9
    with pytest.raises(InvalidParameterError, match="representation='profile'"):
        Segmenter(representation="profile").fit(X)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: X.assign(name="x"), r"'name'.*object"),
        (lambda X: X.assign(when=pd.Timestamp("2024-01-01")), r"'when'.*datetime"),
        (lambda X: X.assign(empty=np.nan), r"entirely missing.*'empty'"),
        (lambda X: X.assign(purchasing__orders_total=np.inf), "infinite"),
        (lambda X: X.iloc[:3], "n_segments.*more than the 3 rows"),
        (lambda X: X.iloc[:1], "1 sample"),
        (lambda X: pd.DataFrame({"a": [1.0] * 10, "b": [2.0] * 10}), "only constant features"),
    ],
)
def test_bad_input_names_the_column(
    data: tuple[pd.DataFrame, pd.Series], change: Any, message: str
) -> None:
    X, _ = data
    with pytest.raises(bc.B2BClientError, match=message):
        Segmenter(n_segments=5).fit(change(X))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_segments": 1}, "n_segments"),
        ({"n_segments": 51}, "n_segments"),
        ({"n_segments": "many"}, "n_segments"),
        ({"n_segments": True}, "n_segments"),
        ({"method": "dbscan"}, "method"),
        ({"representation": "raw"}, "representation"),
        ({"selection": "gap"}, "selection"),
        ({"selection": "bic", "method": "kmeans"}, "selection"),
        ({"method": "hdbscan", "n_segments": 4}, "n_segments"),
        ({"max_segments": 1}, "max_segments"),
        ({"n_init": 0}, "n_init"),
        ({"tol": -1.0}, "tol"),
        ({"min_segment_size": 1}, "min_segment_size"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_parameters_are_named(
    data: tuple[pd.DataFrame, pd.Series], params: dict[str, Any], name: str
) -> None:
    X, _ = data
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        Segmenter(**params).fit(X.iloc[:50])


def test_before_fit_and_with_other_columns(
    fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    with pytest.raises(NotFittedError, match="fit"):
        Segmenter().predict(X)
    with pytest.raises(InvalidParameterError, match="feature names"):
        fitted["kmeans"].predict(X.drop(columns="purchasing__orders_total"))
    with pytest.raises(InvalidParameterError, match="'top'"):
        fitted["kmeans"].profile(X, top=0)


def test_plots(fitted: dict[str, Segmenter], data: tuple[pd.DataFrame, pd.Series]) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from b2bclient.segment import (
        plot_segment_embedding,
        plot_segment_profiles,
        plot_segment_sizes,
    )

    X, _ = data
    seg = fitted["gmm"]
    ax = plot_segment_sizes(seg, X)
    assert len(ax.get_yticklabels()) == 4
    ax = plot_segment_profiles(seg, X, n_features=6)
    assert len(ax.get_yticklabels()) == 6
    ax = plot_segment_embedding(seg, X, sample=300)
    assert len(ax.collections) == 4
    ax = plot_segment_embedding(fitted["hdbscan"], X)
    assert ax.get_legend() is not None
    with pytest.raises(InvalidParameterError, match="'segmenter'"):
        plot_segment_sizes("model", X)
    with pytest.raises(InvalidParameterError, match="'n_features'"):
        plot_segment_profiles(seg, X, n_features=0)
    plt.close("all")
