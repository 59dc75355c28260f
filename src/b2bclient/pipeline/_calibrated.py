"""The calibrated pipeline of a WinModel: its fit, and its state taken apart for saving."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from b2bclient._exceptions import InvalidParameterError

if TYPE_CHECKING:
    from b2bclient.pipeline._win import WinModel

__all__ = ["calibration_state", "fit_calibrated", "outcome_group_folds", "restore_calibration"]

_OWNER = "WinModel"


def fit_calibrated(est: WinModel, X: Any, y: Any, groups: pd.Series | None = None) -> None:
    """Fit the calibrated pipeline; with `groups` (deal ids), each deal weighs the same.

    A deal open for long is seen at many snapshots: without weights the long tenders would
    count several times as much as the quick portal orders in both the logistic regression
    and the calibration map. The rows of one deal are kept in one calibration fold, so the
    out-of-fold predictions the map learns from never come from a model that saw the deal.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.utils.validation import validate_data

    from b2bclient.features import preprocessor

    if y is None:
        raise InvalidParameterError(
            f"{_OWNER} requires y to be passed, but the target y is None: give the outcomes "
            "with a feature matrix, or fit on a ClientBase with as_of."
        )
    if isinstance(X, pd.DataFrame):
        validate_data(est, X, y, reset=True, skip_check_array=True)
        frame = X
    else:
        Xa, y = validate_data(est, X, y, reset=True, ensure_all_finite="allow-nan")
        frame = pd.DataFrame(np.asarray(Xa, dtype=np.float64))
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    y = np.asarray(y)
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind != "binary":
        raise InvalidParameterError(
            f"Only binary classification is supported. {_OWNER} predicts won or not; y is "
            f"{kind} with {len(np.unique(y))} classes."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InvalidParameterError(
            f"{_OWNER} needs both outcomes in y to learn from; y holds only one class: "
            f"{classes.tolist()}."
        )
    cv = int(min(est.cv, counts.min()))
    if cv < 2:
        raise InvalidParameterError(
            f"{_OWNER} needs at least 2 examples of each outcome to calibrate; got "
            f"{dict(zip(classes.tolist(), counts.tolist(), strict=True))}."
        )
    pipe = make_pipeline(preprocessor(), LogisticRegression(C=float(est.C), max_iter=2000))
    # Shuffled folds: the rows come ordered by time and by kind (creation, then snapshots).
    fit_params: dict[str, Any] = {}
    if groups is None:
        folds: Any = StratifiedKFold(cv, shuffle=True, random_state=est.random_state)
    else:
        codes, _ = pd.factorize(pd.Index(groups))
        weight = 1.0 / np.bincount(codes)[codes]
        weight = weight * (len(weight) / weight.sum())
        folds = outcome_group_folds(y, codes, cv, est.random_state)
        if folds is None:  # an outcome that varies within a group: the general greedy split
            splitter = StratifiedGroupKFold(cv, shuffle=True, random_state=est.random_state)
            folds = list(splitter.split(frame, y, codes))
        fit_params = {"sample_weight": weight, "logisticregression__sample_weight": weight}
    model = CalibratedClassifierCV(pipe, method=est.method, cv=folds, ensemble=False)
    with warnings.catch_warnings():
        # The pipeline takes the weights by step name, the calibration map as sample_weight.
        warnings.filterwarnings("ignore", message=".*sample_weight.*")
        model.fit(frame, y, **fit_params)
    # The folds object is not needed after the fit and cannot be saved without pickle.
    model.set_params(cv=cv)
    pipe_all = model.calibrated_classifiers_[0].estimator
    est.matrix_mean_ = np.asarray(pipe_all[0].transform(frame), dtype=np.float64).mean(axis=0)
    est.model_ = model
    est.classes_ = model.classes_
    est.training_rows_ = len(y)


def outcome_group_folds(
    y: npt.NDArray[Any], codes: npt.NDArray[np.intp], n_splits: int, random_state: Any
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] | None:
    """Return shuffled group folds stratified by the outcome, or None if a group's outcome varies.

    When every group (deal) has one outcome, stratifying groups is stratifying by their
    outcome: the groups of each outcome are shuffled and cut into `n_splits` runs of about
    equal rows, so every fold holds about the same share of each outcome's rows and no group
    is split. scikit-learn's ``StratifiedGroupKFold`` reaches the same balance by a greedy
    Python loop over the groups, which took most of a WinModel's fit on large bases (57 of 99
    seconds for 80 980 deals).
    """
    from sklearn.utils import check_random_state

    n_groups = int(codes.max()) + 1
    outcome = np.zeros(n_groups, dtype=y.dtype)
    outcome[codes] = y
    if not np.array_equal(outcome[codes], y):
        return None
    size = np.bincount(codes, minlength=n_groups)
    rng = check_random_state(random_state)
    fold = np.zeros(n_groups, dtype=np.intp)
    for value in np.unique(outcome):
        members = rng.permutation(np.flatnonzero(outcome == value))
        rows = size[members].astype(np.float64)
        middle = np.cumsum(rows) - rows / 2.0  # each group falls where its middle row falls
        fold[members] = np.minimum((middle / rows.sum() * n_splits).astype(np.intp), n_splits - 1)
    row_fold = fold[codes]
    index = np.arange(len(codes), dtype=np.intp)
    return [(index[row_fold != k], index[row_fold == k]) for k in range(n_splits)]


def calibration_state(est: WinModel) -> dict[str, Any]:
    """Return the fitted state of `est` with the calibrated model taken apart."""
    state = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
    if "model_" not in state:  # not fitted: parameters only
        return state
    model = state.pop("model_")
    cal = model.calibrated_classifiers_[0]
    state["calibration_"] = {
        "params": model.get_params(deep=False),
        "estimator": cal.estimator,
        "calibrators": list(cal.calibrators),
        "method": cal.method,
        "classes": cal.classes,
        "fitted": {
            k: getattr(model, k)
            for k in ("classes_", "n_features_in_", "feature_names_in_")
            if hasattr(model, k)
        },
    }
    return state


def restore_calibration(est: WinModel, state: dict[str, Any]) -> None:
    """Set the state of :func:`calibration_state` on `est`, rebuilding the calibrated model."""
    from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier

    state = dict(state)
    if "calibration_" not in state:  # saved before fit
        for k, v in state.items():
            setattr(est, k, v)
        return
    parts = state.pop("calibration_")
    model = CalibratedClassifierCV(**parts["params"])
    model.calibrated_classifiers_ = [
        _CalibratedClassifier(
            parts["estimator"],
            parts["calibrators"],
            classes=parts["classes"],
            method=parts["method"],
        )
    ]
    for k, v in parts["fitted"].items():
        setattr(model, k, v)
    for k, v in state.items():
        setattr(est, k, v)
    est.model_ = model
