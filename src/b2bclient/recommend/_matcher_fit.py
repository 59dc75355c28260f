"""Training of PartnerMatcher's pair model on a time split of the known supplier links.

The earlier links teach industry complementarity; a gradient-boosting model learns to find the
later ones among the candidates (each query's own look-alikes as negatives), and a logistic
regression on the same features, the shortlist model, picks the candidates it rescores. With too
few links, ``model="auto"`` falls back to the rule and ``model="gbm"`` raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from b2bclient._exceptions import InvalidParameterError
from b2bclient.recommend._pairdata import PairData, pair_key
from b2bclient.recommend._pairs import (
    CLOSE_COLUMNS,
    FEATURES,
    Copresence,
    Scores,
    candidate_pairs,
    learn_knowledge,
    orient,
    pair_features,
)

if TYPE_CHECKING:
    from b2bclient.recommend._matcher import PartnerMatcher

__all__ = ["LOG_COLUMNS", "fit_classifier", "too_few"]

_OWNER = "PartnerMatcher"

FloatArray = npt.NDArray[np.float64]

#: Columns the linear shortlist model sees on a log scale (counts, gaps and durations).
LOG_COLUMNS = [
    i
    for i, name in enumerate(FEATURES)
    if name.endswith(("_projects", "_days", "_visits", "_purchases", "_suppliers", "_buyers"))
]


def too_few(matcher: PartnerMatcher, n_usable: int, n_train: int) -> None:
    """Fall back to the rule (model="auto") or raise (model="gbm")."""
    if matcher.model == "gbm":
        raise InvalidParameterError(
            f"{_OWNER}(model='gbm') learns from known supplier links, and the base has "
            f"{n_usable} between known organisations with an industry before the cut-off, "
            f"{n_train} of them usable for training after the time split (at least "
            f"min_links={matcher.min_links} needed). Use model='auto' or 'rule', or lower "
            "min_links."
        )


def fit_classifier(
    matcher: PartnerMatcher,
    data: PairData,
    surprise: FloatArray,
    co: Copresence,
    usable: npt.NDArray[np.bool_],
) -> None:
    """Train the pair model and the linear shortlist model on the matcher (or fall back)."""
    since = data.supplier_since
    n_usable = int(usable.sum())
    n_train = round(float(matcher.split) * n_usable)
    if n_train < matcher.min_links or n_usable - n_train < 1:
        too_few(matcher, n_usable, n_train)
        return
    # The earlier links teach complementarity; the pair model learns to find the later ones.
    t_split = int(np.sort(since[usable])[n_usable - n_train])
    early = usable & (since < t_split)
    late = usable & (since >= t_split)
    knowledge = learn_knowledge(data, surprise, early)
    scores = Scores.compute(data, knowledge, surprise, early)
    groups, members = matcher._blocks(data, knowledge, scores)
    pos_a, pos_b = data.supplier_source[late], data.supplier_target[late]
    positives = np.unique(pair_key(pos_a, pos_b, data.n))
    queries = np.unique(np.concatenate([pos_a, pos_b]))
    exclude = data.linked[data.linked_since < t_split]
    # Trained on the candidates only: a pair the candidates miss is never scored. The
    # negatives are each query's own look-alikes: its co-presence partners and the block
    # offered to it.
    keys = candidate_pairs(data, co, groups, members, queries, exclude, offered_to=False)
    found = np.isin(keys, positives)
    positive, negative = keys[found], keys[~found]
    if positive.shape[0] < matcher.min_links:
        too_few(matcher, n_usable, int(positive.shape[0]))
        return
    rng = np.random.default_rng(matcher.random_state)
    n_neg = min(negative.shape[0], int(matcher.negatives) * positive.shape[0])
    negative = np.sort(rng.choice(negative, n_neg, replace=False))
    keys = np.concatenate([positive, negative])
    y = np.concatenate([np.ones(positive.shape[0]), np.zeros(negative.shape[0])])
    s, b = orient(knowledge, data, keys // data.n, keys % data.n)
    x = pair_features(data, knowledge, co, scores, s, b, window_days=float(matcher.window_days))
    # The shortlist model leaves out the projects at close dates on any site: they are
    # computed for the shortlisted pairs only.
    xl = x.copy()
    xl[:, LOG_COLUMNS] = np.log1p(np.maximum(xl[:, LOG_COLUMNS], 0.0))
    xl[:, list(CLOSE_COLUMNS)] = 0.0
    mean = xl.mean(axis=0)
    scale = np.where(xl.std(axis=0) > 0, xl.std(axis=0), 1.0)
    linear = LogisticRegression(C=1.0, max_iter=2_000).fit((xl - mean) / scale, y)
    params: dict[str, Any] = {
        "n_estimators": 40,
        "learning_rate": 0.15,
        "max_depth": 3,
        "min_samples_leaf": 20,
        "subsample": 0.8,
        "random_state": matcher.random_state,
    }
    params.update(matcher.gbm_params or {})
    classifier = GradientBoostingClassifier(**params)
    classifier.fit(x, y)
    matcher.classifier_ = classifier
    matcher.prescore_coef_ = np.asarray(linear.coef_[0], dtype=np.float64)
    matcher.prescore_mean_ = np.asarray(mean, dtype=np.float64)
    matcher.prescore_scale_ = np.asarray(scale, dtype=np.float64)
    matcher.n_train_links_ = int(positive.shape[0])
    matcher.model_ = "gbm"
