"""How Segmenter chooses the number of segments: BIC, silhouette on a sample, bootstrap stability.

``select`` fits every candidate number of segments and scores it by the criterion; the table of
scores becomes ``Segmenter.selection_``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.segment import _methods
from b2bclient.segment._methods import Design, Partition
from b2bclient.segment._mixture import MixtureFit, log_joint

__all__ = ["assign", "fit_k", "gamma", "mixture_of", "select", "subset"]

Ints = npt.NDArray[np.int64]

_SILHOUETTE_SAMPLE = 3_000
_STABILITY_RESAMPLES = 4


def fit_k(seg: Any, design: Design, k: int, rng: np.random.Generator) -> Partition:
    """Fit `seg`'s method with `k` segments on `design`."""
    if seg.method == "gmm":
        return _methods.fit_gmm(design, k, rng, int(seg.n_init), int(seg.max_iter), float(seg.tol))
    if seg.method == "kmeans":
        return _methods.fit_kmeans(design, k, rng, int(seg.n_init))
    return _methods.fit_kprototypes(
        design, k, rng, int(seg.n_init), int(seg.max_iter), gamma(design)
    )


def gamma(design: Design) -> float:
    """k-prototypes' weight of a category mismatch: half the mean sd of the numbers."""
    if not design.codes:
        return 0.0
    return 0.5 * float(np.mean(np.std(design.shrunk, axis=0)))


def select(
    seg: Any, design: Design, selection: str, rng: np.random.Generator
) -> tuple[Partition, pd.DataFrame]:
    n = design.n
    distinct = int(np.unique(design.shrunk, axis=0).shape[0])
    top = max(2, min(int(seg.max_segments), n - 1, distinct))
    candidates = list(range(2, max(top, 2) + 1))
    rows = []
    fits: dict[int, Partition] = {}
    for k in candidates:
        part = fit_k(seg, design, k, rng)
        fits[k] = part
        row: dict[str, Any] = {"n_segments": k, "criterion": selection}
        if selection == "bic":
            row["score"] = -2.0 * part.log_likelihood + part.n_parameters * math.log(n)
            row["log_likelihood"] = part.log_likelihood
            row["n_parameters"] = part.n_parameters
            row["icl"] = row["score"] + 2.0 * part.entropy
        elif selection == "silhouette":
            row["score"] = silhouette(seg, design, part, rng)
        else:
            row["score"] = stability_score(seg, design, k, rng)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("n_segments")
    if selection == "bic":
        table["gain_ratio"] = gain_ratio(table, n)
    scores = table["score"].to_numpy(dtype=np.float64)
    scores = np.where(np.isnan(scores), np.inf if selection == "bic" else -np.inf, scores)
    best = int(np.argmin(scores) if selection == "bic" else np.argmax(scores))
    table["chosen"] = np.arange(len(table)) == best
    return fits[candidates[best]], table


def gain_ratio(table: pd.DataFrame, n: int) -> npt.NDArray[np.float64]:
    """Twice the log-likelihood gained over the previous candidate, over the BIC's added penalty.

    Above 1 the BIC prefers the larger number. A ratio that stays about level from one candidate
    to the next (no elbow) means the likelihood does not tell the numbers apart: the BIC then
    swings to the smallest or the largest candidate with the number of organisations.
    """
    ll = table["log_likelihood"].to_numpy(dtype=np.float64)
    k = table["n_parameters"].to_numpy(dtype=np.float64)
    out = np.full(len(table), np.nan)
    out[1:] = 2.0 * np.diff(ll) / (np.diff(k) * math.log(n))
    return out


def silhouette(seg: Any, design: Design, part: Partition, rng: np.random.Generator) -> float:
    """Mean silhouette of `part` on a sample of the rows (k-prototypes: with its category cost)."""
    from sklearn.metrics import silhouette_score

    labels = part.labels
    if len(np.unique(labels)) < 2:
        return float("nan")
    n = design.n
    idx = np.sort(rng.choice(n, size=min(n, _SILHOUETTE_SAMPLE), replace=False))
    if len(np.unique(labels[idx])) < 2:
        return float("nan")
    data = design.shrunk[idx]
    if seg.method == "kprototypes" and design.codes:
        from b2bclient.segment._methods import squared_distances

        d = squared_distances(data, data)
        weight = gamma(design)
        for c in design.codes:
            cc = c[idx]
            d = d + weight * (cc[:, None] != cc[None, :])
        np.fill_diagonal(d, 0.0)
        return float(silhouette_score(np.sqrt(d), labels[idx], metric="precomputed"))
    return float(silhouette_score(data, labels[idx]))


def stability_score(seg: Any, design: Design, k: int, rng: np.random.Generator) -> float:
    """Mean ARI between fits with `k` segments on bootstrap samples, predicting every row."""
    from sklearn.metrics import adjusted_rand_score

    predictions = []
    for _ in range(_STABILITY_RESAMPLES):
        idx = rng.choice(design.n, size=design.n, replace=True)
        sub = subset(design, idx)
        part = fit_k(seg, sub, k, rng)
        predictions.append(assign(seg, design, part, sub))
    scores = [
        adjusted_rand_score(predictions[i], predictions[j])
        for i in range(len(predictions))
        for j in range(i + 1, len(predictions))
    ]
    return float(np.mean(scores))


def assign(seg: Any, design: Design, part: Partition, fitted_on: Design) -> Ints:
    """Labels of `design` rows under a partition fitted on `fitted_on`."""
    if seg.method == "gmm":
        fit = mixture_of(part.state)
        return np.asarray(
            log_joint(design.values, design.variances, fit, design.codes).argmax(axis=1),
            dtype=np.int64,
        )
    centers = part.state["centers"]
    modes = part.state.get("modes", [])
    if seg.method == "kprototypes":
        cost = _methods.kprototypes_cost(
            design.shrunk, design.codes, centers, modes, gamma(fitted_on)
        )
        return np.asarray(cost.argmin(axis=1), dtype=np.int64)
    return np.asarray(
        _methods.squared_distances(design.shrunk, centers).argmin(axis=1), dtype=np.int64
    )


def subset(design: Design, idx: Ints) -> Design:
    """The rows `idx` of `design`."""
    return Design(
        values=design.values[idx],
        variances=design.variances[idx],
        shrunk=design.shrunk[idx],
        codes=tuple(c[idx] for c in design.codes),
        levels=design.levels,
    )


def mixture_of(state: dict[str, Any]) -> MixtureFit:
    """The mixture a partition's state describes."""
    return MixtureFit(
        weights=state["weights"],
        means=state["means"],
        covariance=state["covariance"],
        categorical=tuple(state["categorical"]),
        log_likelihood=float("nan"),
        n_iter=int(state["n_iter"]),
        converged=bool(state["converged"]),
    )
