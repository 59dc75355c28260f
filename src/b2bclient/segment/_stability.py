"""Bootstrap stability of a segmentation: does it come back when the data are resampled?"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

__all__ = ["bootstrap_stability"]

Ints = npt.NDArray[np.int64]


def _one_vs_rest(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    if a.all() or not a.any():
        return 1.0 if (a == b).all() else 0.0
    return float(adjusted_rand_score(a, b))


def bootstrap_stability(
    segmenter: Any, X: pd.DataFrame, reference: Ints, n_resamples: int, seed: int | None
) -> pd.DataFrame:
    """Refit `segmenter` on bootstrap samples of `X` and compare its labels with `reference`.

    Each resample draws ``len(X)`` rows with replacement, refits a clone with the fitted number
    of segments, and predicts every row of `X`. Overall agreement is the adjusted Rand index (ARI)
    with `reference`; per segment, the best-matching bootstrap segment gives the Jaccard index of
    the two member sets (Hennig, 2007) and the ARI of the two "in the segment or not" splits.
    """
    rng = np.random.default_rng(seed)
    segments = sorted(int(s) for s in np.unique(reference) if s >= 0)
    params: dict[str, Any] = {}
    if segmenter.method != "hdbscan":
        params["n_segments"] = int(segmenter.n_segments_)
    overall = []
    jaccard: dict[int, list[float]] = {s: [] for s in segments}
    one_vs_rest: dict[int, list[float]] = {s: [] for s in segments}
    n = len(reference)
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        model = clone(segmenter).set_params(random_state=int(rng.integers(0, 2**31 - 1)), **params)
        model.fit(X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx])
        labels = model.predict(X)
        overall.append(float(adjusted_rand_score(reference, labels)))
        found = np.unique(labels)
        for s in segments:
            a = reference == s
            best_j, best_b = 0.0, np.zeros(n, dtype=bool)
            for c in found:
                b = labels == c
                union = int((a | b).sum())
                j = float((a & b).sum() / union) if union else 0.0
                if j > best_j:
                    best_j, best_b = j, b
            jaccard[s].append(best_j)
            one_vs_rest[s].append(_one_vs_rest(a, best_b))
    rows = [
        {
            "segment": "all",
            "organisations": int((reference >= 0).sum()),
            "ari": float(np.mean(overall)),
            "ari_sd": float(np.std(overall)),
            "jaccard": float(np.mean([np.mean(v) for v in jaccard.values()]))
            if segments
            else np.nan,
        }
    ]
    for s in segments:
        rows.append(
            {
                "segment": s,
                "organisations": int((reference == s).sum()),
                "ari": float(np.mean(one_vs_rest[s])),
                "ari_sd": float(np.std(one_vs_rest[s])),
                "jaccard": float(np.mean(jaccard[s])),
            }
        )
    table = pd.DataFrame(rows).set_index("segment")
    table.attrs["n_resamples"] = n_resamples
    return table
