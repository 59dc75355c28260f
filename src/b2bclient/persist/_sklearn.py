"""scikit-learn's compiled predictors as arrays: decision trees, losses and histogram-boosting trees.

Fitted scikit-learn estimators keep a few objects that are neither estimators nor arrays: the
``Tree`` of decision trees and (classic) gradient boosting, the loss objects, and the
``TreePredictor`` of HistGradientBoosting, whose nodes are a structured NumPy array. Each is
stored as plain values and arrays, and rebuilt on load only after its links are checked:
scikit-learn walks them in compiled code without bounds checks, so a node pointing outside its
array would read arbitrary memory. A valid tree has every child after its parent, each node but
the root has exactly one parent, and every feature and bitset index is in range.

The functions return (and read) the fields of a node; :mod:`b2bclient.persist._encoder` and
:mod:`b2bclient.persist._decoder` add the node's tag and dispatch to them.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from b2bclient.persist._classes import class_name, resolve_class

if TYPE_CHECKING:
    from b2bclient.persist._decoder import Decoder
    from b2bclient.persist._encoder import Encoder

__all__ = [
    "check_estimator",
    "decode_hist_predictor",
    "decode_loss",
    "decode_tree",
    "encode_hist_predictor",
    "encode_loss",
    "encode_tree",
    "special_kind",
]

_LOSS_KWARGS = ("n_classes", "quantile", "power", "delta")
_HIST = "sklearn.ensemble._hist_gradient_boosting"
_PREDICTOR_FIELDS = ("nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets")


def special_kind(value: Any) -> str | None:
    """Return the node kind of a scikit-learn object stored by this module, else ``None``."""
    cls = type(value)
    if cls.__module__ == "sklearn.tree._tree" and cls.__name__ == "Tree":
        return "sklearn_tree"
    if cls.__module__ == "sklearn._loss.loss":
        return "sklearn_loss"
    if cls.__module__ == f"{_HIST}.predictor" and cls.__name__ == "TreePredictor":
        return "sklearn_hist_predictor"
    return None


# -- decision trees ---------------------------------------------------------------------------


def encode_tree(encoder: Encoder, value: Any, path: str) -> dict[str, Any]:
    """Return the fields of a ``sklearn.tree._tree.Tree``: its shape and pickling state."""
    _, args, state = value.__reduce__()
    n_features, n_classes, n_outputs = args
    return {
        "n_features": int(n_features),
        "n_classes": encoder.array_ref(np.asarray(n_classes)),
        "n_outputs": int(n_outputs),
        "state": encoder.encode(dict(state), f"{path}.state"),
    }


def decode_tree(decoder: Decoder, node: dict[str, Any], where: str) -> Any:
    """Rebuild a ``Tree`` after checking its node links and features."""
    from sklearn.tree._tree import Tree

    n_features = decoder.field(node, "n_features", int, where)
    n_outputs = decoder.field(node, "n_outputs", int, where)
    n_classes = decoder.ndarray(decoder.field(node, "n_classes", dict, where), f"{where}.n_classes")
    if n_classes.dtype != np.intp or n_classes.shape != (n_outputs,):
        raise decoder.malformed(where, "n_classes must hold one integer per output")
    state = decoder.decode(node.get("state"), f"{where}.state")
    if type(state) is not dict:
        raise decoder.malformed(where, "a tree state must be a dict")
    _check_tree_nodes(decoder, state, n_features, where)
    tree = Tree(n_features, n_classes, n_outputs)
    tree.__setstate__(state)
    return tree


def _check_tree_nodes(decoder: Decoder, state: dict[str, Any], n_features: int, where: str) -> None:
    """Refuse node arrays that would make scikit-learn's compiled code index out of range.

    scikit-learn appends children after their parent, so a valid tree has every child index
    larger than its parent's, which also rules out cycles.
    """
    nodes = state.get("nodes")
    count = state.get("node_count")
    fields = ("left_child", "right_child", "feature")
    if (
        not isinstance(nodes, np.ndarray)
        or nodes.dtype.names is None
        or not set(fields) <= set(nodes.dtype.names)
        or type(count) is not int
        or nodes.shape != (count,)
    ):
        raise decoder.malformed(where, "a tree needs a node array of node_count entries")
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    feature = nodes["feature"].astype(np.int64)
    position = np.arange(count)
    leaf = left == -1
    inner = ~leaf
    valid = (
        bool(np.all(right[leaf] == -1))
        and bool(np.all((left[inner] > position[inner]) & (left[inner] < count)))
        and bool(np.all((right[inner] > position[inner]) & (right[inner] < count)))
        and bool(np.all((feature[inner] >= 0) & (feature[inner] < n_features)))
    )
    if not valid:
        raise decoder.malformed(where, "the tree's node links or features are out of range")


# -- losses -----------------------------------------------------------------------------------


def encode_loss(encoder: Encoder, value: Any, path: str) -> dict[str, Any] | None:
    """Return the fields of a numpy-based scikit-learn loss, or ``None`` for another object."""
    from sklearn._loss.loss import BaseLoss

    cls = type(value)
    if not isinstance(value, BaseLoss) or getattr(value, "xp", None) is not None:
        return None
    accepted = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = {}
    for name in _LOSS_KWARGS:
        if name not in accepted:
            continue
        if name == "n_classes":
            kwargs[name] = value.n_classes
        elif hasattr(value, name):
            kwargs[name] = getattr(value, name)
        else:
            kwargs[name] = getattr(value.closs, name)
    if "delta" in kwargs:
        kwargs["delta"] = float(value.closs.delta)
    return {
        "class": class_name(cls),
        "kwargs": {k: encoder.encode(v, f"{path}.{k}") for k, v in kwargs.items()},
        "approx_hessian": bool(value.approx_hessian),
        "constant_hessian": bool(value.constant_hessian),
    }


def decode_loss(decoder: Decoder, node: dict[str, Any], where: str) -> Any:
    """Rebuild a scikit-learn loss from its class and arguments."""
    cls = resolve_class(node.get("class"), kind="sklearn_loss", where=where)
    kwargs_node = decoder.field(node, "kwargs", dict, where)
    if not set(kwargs_node) <= set(_LOSS_KWARGS):
        raise decoder.malformed(where, "unknown loss arguments")
    kwargs = {k: decoder.decode(v, f"{where}.{k}") for k, v in kwargs_node.items()}
    loss = cls(**kwargs)
    loss.approx_hessian = decoder.field(node, "approx_hessian", bool, where)
    loss.constant_hessian = decoder.field(node, "constant_hessian", bool, where)
    return loss


# -- histogram gradient boosting --------------------------------------------------------------


def encode_hist_predictor(encoder: Encoder, value: Any, path: str) -> dict[str, Any] | None:
    """Return the three arrays of a HistGradientBoosting ``TreePredictor``.

    ``None`` when the predictor holds anything else (a newer scikit-learn), so that saving
    refuses it rather than dropping it.
    """
    if set(vars(value)) != set(_PREDICTOR_FIELDS):
        return None
    fields: dict[str, Any] = {}
    for name in _PREDICTOR_FIELDS:
        array = getattr(value, name)
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            return None
        fields[name] = encoder.array_ref(array)
    return fields


def decode_hist_predictor(decoder: Decoder, node: dict[str, Any], where: str) -> Any:
    """Rebuild a ``TreePredictor`` after checking that its nodes form a tree with valid links."""
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
        X_BITSET_INNER_DTYPE,
    )
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    arrays = {
        name: decoder.ndarray(decoder.field(node, name, dict, where), f"{where}.{name}")
        for name in _PREDICTOR_FIELDS
    }
    nodes = arrays["nodes"]
    if nodes.dtype.names != PREDICTOR_RECORD_DTYPE.names or nodes.ndim != 1 or not len(nodes):
        raise decoder.malformed(where, "a histogram-boosting tree needs a non-empty node array")
    # The integer width of feature_idx follows the platform, as in scikit-learn's own loading.
    nodes = np.ascontiguousarray(nodes.astype(PREDICTOR_RECORD_DTYPE, casting="same_kind"))
    bitsets = []
    for name in _PREDICTOR_FIELDS[1:]:
        array = arrays[name]
        if array.dtype != X_BITSET_INNER_DTYPE or array.ndim != 2 or array.shape[1] != 8:
            raise decoder.malformed(where, f"{name} must be uint32 bitsets of 8 words")
        bitsets.append(np.ascontiguousarray(array))
    if bitsets[0].shape != bitsets[1].shape:
        raise decoder.malformed(where, "the binned and raw category bitsets differ in number")
    _check_hist_nodes(decoder, nodes, bitsets[0].shape[0], where)
    return TreePredictor(nodes, bitsets[0], bitsets[1])


def _check_hist_nodes(decoder: Decoder, nodes: Any, n_bitsets: int, where: str) -> None:
    count = nodes.shape[0]
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    left = nodes["left"][inner].astype(np.int64)
    right = nodes["right"][inner].astype(np.int64)
    children = np.sort(np.concatenate((left, right)))
    categorical = inner[nodes["is_categorical"][inner] != 0]
    valid = (
        bool(np.all((left > inner) & (right > inner)))
        # every node but the root is the child of exactly one inner node: a tree
        and bool(np.array_equal(children, np.arange(1, count)))
        and bool(np.all(nodes["feature_idx"][inner] >= 0))
        and bool(np.all(nodes["bitset_idx"][categorical].astype(np.int64) < n_bitsets))
    )
    if not valid:
        raise decoder.malformed(where, "the tree's node links or bitsets are out of range")


def check_estimator(decoder: Decoder, estimator: Any, where: str) -> None:
    """Check what a loaded estimator's compiled prediction code will index (HistGradientBoosting).

    Each tree's features must be columns of the input, and a categorical split must be on a
    feature the bin mapper knows as categorical (its category bitset is looked up by that).
    """
    if not type(estimator).__module__.startswith(f"{_HIST}.gradient_boosting"):
        return
    predictors = getattr(estimator, "_predictors", None)
    if predictors is None:
        return  # not fitted
    n_features = getattr(estimator, "n_features_in_", None)
    mapper = getattr(estimator, "_bin_mapper", None)
    is_categorical = getattr(mapper, "is_categorical_", None)
    if (
        type(n_features) is not int
        or not isinstance(is_categorical, np.ndarray)
        or is_categorical.shape != (n_features,)
    ):
        raise decoder.malformed(where, "the features of a histogram-boosting model do not match")
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    for i, trees in enumerate(predictors):
        if type(trees) is not list:
            raise decoder.malformed(f"{where}._predictors[{i}]", "must be a list of trees")
        for j, tree in enumerate(trees):
            if type(tree) is not TreePredictor:
                raise decoder.malformed(f"{where}._predictors[{i}][{j}]", "must be a tree")
            nodes = tree.nodes
            inner = nodes["is_leaf"] == 0
            feature = nodes["feature_idx"][inner].astype(np.int64)
            split_on_category = nodes["is_categorical"][inner] != 0
            if not (
                bool(np.all(feature < n_features))
                and bool(np.all(is_categorical[feature[split_on_category]] != 0))
            ):
                raise decoder.malformed(
                    f"{where}._predictors[{i}][{j}]",
                    "a split uses a feature outside the input or a category bitset it lacks",
                )
