"""HistGradientBoosting through b2bclient.persist: arrays only, bit-exact, tampered trees refused."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from b2bclient._exceptions import FormatError
from b2bclient.persist import assert_same_state, load, roundtrip, save
from b2bclient.persist._archive import manifest_digest


def data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Numeric columns with missing values and an ordinal-coded categorical column (4 levels)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.normal(size=n), rng.normal(size=n), rng.integers(0, 4, size=n).astype(float)]
    )
    X[rng.random(n) < 0.15, 0] = np.nan
    X[rng.random(n) < 0.05, 2] = np.nan
    score = np.nan_to_num(X[:, 0]) + 0.5 * X[:, 1] + np.isin(X[:, 2], [1, 3]) - 0.5
    return X, score


def models() -> dict[str, Any]:
    X, score = data()
    rng = np.random.default_rng(1)
    binary = (score + rng.normal(size=len(score)) > 0).astype(int)
    classes = np.digitize(score + rng.normal(size=len(score)), [-0.5, 0.5])
    categorical = [False, False, True]
    return {
        "binary, early stopping": HistGradientBoostingClassifier(
            max_iter=40, categorical_features=categorical, early_stopping=True, random_state=0
        ).fit(X, binary, sample_weight=rng.uniform(0.5, 2.0, len(binary))),
        "multiclass": HistGradientBoostingClassifier(
            max_iter=15, categorical_features=categorical, random_state=0
        ).fit(X, classes),
        "regression": HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, score),
        "poisson, no categories": HistGradientBoostingRegressor(
            loss="poisson", max_iter=10, random_state=0
        ).fit(X[:, :2], np.exp(np.clip(score, -3, 3))),
    }


with threadpool_limits(limits=1, user_api="openmp"):
    # HistGradientBoosting's threads wait for each other at every histogram: on a busy machine
    # one thread is faster than two by an order of magnitude.
    MODELS = models()


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Fit HistGradientBoosting on one OpenMP thread (see above)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("archive", [False, True], ids=["directory", "zip"])
def test_hist_gradient_boosting_round_trips_bit_exactly(name: str, archive: bool) -> None:
    model = MODELS[name]
    copy = roundtrip(model, archive=archive)
    assert_same_state(model, copy)
    X, _ = data(500, seed=7)
    X = X[:, : model.n_features_in_]
    X[0, 2 if X.shape[1] > 2 else 0] = 9.0  # a category never seen
    for method in ("predict", "predict_proba", "decision_function"):
        if hasattr(model, method):
            a, b = getattr(model, method)(X), getattr(copy, method)(X)
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), method
    for a, b in zip(model.staged_predict(X), copy.staged_predict(X), strict=True):
        assert a.tobytes() == b.tobytes()


def test_the_trees_are_stored_as_structured_arrays(tmp_path: Path) -> None:
    path = save(MODELS["binary, early stopping"], tmp_path / "hgb")
    manifest = json.loads((path / "manifest.json").read_text())
    tree = manifest["model"]["state"]["_predictors"][0][0]
    assert tree["__b2b__"] == "sklearn_hist_predictor"
    nodes = np.load(path / tree["nodes"]["file"], allow_pickle=False)
    assert nodes.dtype.names is not None and "feature_idx" in nodes.dtype.names
    for name in manifest["arrays"]:
        assert not np.load(path / name, allow_pickle=False).dtype.hasobject


def test_a_model_fitted_on_a_frame_with_categories_round_trips() -> None:
    # scikit-learn then keeps a ColumnTransformer whose numeric part is partial(check_array, ...):
    # stored by name, as the one function a saved model may refer to.
    X, score = data(600)
    frame = pd.DataFrame(
        {"a": X[:, 0], "b": X[:, 1], "c": pd.Categorical(np.nan_to_num(X[:, 2]).astype(int))}
    )
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(frame, score > 0)
    copy = roundtrip(model)
    assert_same_state(model, copy)
    assert model.predict_proba(frame).tobytes() == copy.predict_proba(frame).tobytes()


def test_other_functions_are_refused_when_saving(tmp_path: Path) -> None:
    from functools import partial

    from sklearn.preprocessing import FunctionTransformer

    for func, path in [
        (partial(np.round, decimals=1), r"FunctionTransformer\.func\.func holds a"),
        (json.dumps, r"FunctionTransformer\.func holds a"),
    ]:
        with pytest.raises(FormatError, match=path):
            save(FunctionTransformer(func), tmp_path / "f")


def test_a_file_naming_another_function_is_refused(tmp_path: Path) -> None:
    X, score = data(300)
    model = HistGradientBoostingClassifier(max_iter=2, categorical_features=[False, False, True])
    path = save(model.fit(X, score > 0), tmp_path / "m")
    text = (path / "manifest.json").read_text()
    assert text.count('"sklearn.utils.validation.check_array"') == 2  # parameters and fitted
    manifest = json.loads(text.replace("sklearn.utils.validation.check_array", "os.system"))
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatError, match=r"the function 'os\.system'"):
        load(path)


# -- tampering ----------------------------------------------------------------------------------


def tamper(tmp_path: Path, edit: Callable[[np.ndarray], None], tree: int = 0) -> Path:
    """Save the binary model, edit one tree's nodes, and fix every digest as an attacker would."""
    path = save(MODELS["binary, early stopping"], tmp_path / "hgb")
    manifest = json.loads((path / "manifest.json").read_text())
    name = manifest["model"]["state"]["_predictors"][tree][0]["nodes"]["file"]
    nodes = np.load(path / name, allow_pickle=False)
    edit(nodes)
    buffer = io.BytesIO()
    np.save(buffer, nodes, allow_pickle=False)
    (path / name).write_bytes(buffer.getvalue())
    manifest["arrays"][name] = hashlib.sha256(buffer.getvalue()).hexdigest()
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def first_inner(nodes: np.ndarray) -> int:
    return int(np.flatnonzero(nodes["is_leaf"] == 0)[0])


def categorical_tree() -> int:
    trees = MODELS["binary, early stopping"]._predictors
    return next(i for i, (t,) in enumerate(trees) if (t.nodes["is_categorical"] != 0).any())


def _link_out_of_range(nodes: np.ndarray) -> None:
    nodes["left"][first_inner(nodes)] = 10**6


def _link_backwards(nodes: np.ndarray) -> None:
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    nodes["right"][inner[-1]] = 0


def _shared_child(nodes: np.ndarray) -> None:
    root = first_inner(nodes)
    nodes["right"][root] = nodes["left"][root]


def _leaf_turned_inner(nodes: np.ndarray) -> None:
    nodes["is_leaf"][np.flatnonzero(nodes["is_leaf"] != 0)[-1]] = 0


def _feature_outside_input(nodes: np.ndarray) -> None:
    nodes["feature_idx"][first_inner(nodes)] = 3


def _negative_feature(nodes: np.ndarray) -> None:
    nodes["feature_idx"][first_inner(nodes)] = -1


def _categorical_split_on_a_numeric_feature(nodes: np.ndarray) -> None:
    # scikit-learn puts the categorical columns first: column 1 is numeric.
    inner = first_inner(nodes)
    nodes["feature_idx"][inner] = 1
    nodes["is_categorical"][inner] = 1


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_link_out_of_range, "node links or bitsets are out of range"),
        (_link_backwards, "node links or bitsets are out of range"),
        (_shared_child, "node links or bitsets are out of range"),
        (_leaf_turned_inner, "node links or bitsets are out of range"),
        (_negative_feature, "node links or bitsets are out of range"),
        (_feature_outside_input, "a split uses a feature outside the input"),
        (_categorical_split_on_a_numeric_feature, "a category bitset it lacks"),
    ],
)
def test_tampered_trees_are_refused(
    tmp_path: Path, edit: Callable[[np.ndarray], None], match: str
) -> None:
    with pytest.raises(FormatError, match=match):
        load(tamper(tmp_path, edit))


def test_a_bitset_index_out_of_range_is_refused(tmp_path: Path) -> None:
    def edit(nodes: np.ndarray) -> None:
        split = np.flatnonzero((nodes["is_leaf"] == 0) & (nodes["is_categorical"] != 0))[0]
        nodes["bitset_idx"][split] = 10**6

    with pytest.raises(FormatError, match="node links or bitsets are out of range"):
        load(tamper(tmp_path, edit, tree=categorical_tree()))


def test_an_untampered_copy_of_the_same_file_loads(tmp_path: Path) -> None:
    copy = load(tamper(tmp_path, lambda nodes: None))
    assert_same_state(MODELS["binary, early stopping"], copy)
