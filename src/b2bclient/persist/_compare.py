"""Helpers that check a save/load round trip: used by the tests and by ``b2bclient.testing``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from b2bclient.persist._archive import load, save
from b2bclient.persist._codec import TAG
from b2bclient.persist._encoder import Encoder

__all__ = ["assert_same_state", "roundtrip"]


def roundtrip(model: Any, *, archive: bool = False) -> Any:
    """Save `model` to a temporary location and load it back.

    Parameters
    ----------
    model : estimator or attrs record
        Anything :func:`b2bclient.persist.save` accepts.
    archive : bool, default False
        Write a single ``.zip`` archive instead of a directory.

    Returns
    -------
    object
        The loaded copy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    >>> copy = roundtrip(km, archive=True)
    >>> bool((copy.predict(X) == km.predict(X)).all())
    True
    """
    with tempfile.TemporaryDirectory(prefix="b2bclient-roundtrip-") as tmp:
        path = Path(tmp) / ("model.zip" if archive else "model")
        save(model, path)
        return load(path)


def assert_same_state(left: Any, right: Any) -> None:
    """Assert that two models have identical parameters and bit-identical fitted state.

    Both are encoded as :func:`b2bclient.persist.save` would store them; the JSON trees must be
    equal and every array must have the same dtype, shape and bytes (so NaNs compare equal and
    ``-0.0`` differs from ``0.0``).

    Parameters
    ----------
    left, right : estimator or attrs record
        The models to compare.

    Raises
    ------
    AssertionError
        Naming the first attribute path where they differ.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> scaler = StandardScaler().fit(np.array([[0.0], [2.0]]))
    >>> assert_same_state(scaler, roundtrip(scaler))
    """
    left_encoder, right_encoder = Encoder("left"), Encoder("right")
    left_tree = left_encoder.encode_top(left, type(left).__qualname__)
    right_tree = right_encoder.encode_top(right, type(right).__qualname__)
    _compare(left_tree, right_tree, left_encoder, right_encoder, type(left).__qualname__)


_STRUCTURAL_KEYS = frozenset({"items", "state", "params", "fields"})


def _compare(a: Any, b: Any, ea: Encoder, eb: Encoder, where: str) -> None:
    if type(a) is not type(b):
        raise AssertionError(f"{where}: {type(a).__name__} differs from {type(b).__name__}")
    if isinstance(a, list):
        if len(a) != len(b):
            raise AssertionError(f"{where}: length {len(a)} differs from {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, ea, eb, f"{where}[{i}]")
        return
    if isinstance(a, dict):
        if a.get(TAG) == "ndarray" and b.get(TAG) == "ndarray":
            _compare_arrays(_array(a, ea), _array(b, eb), where)
            return
        if list(a) != list(b):
            raise AssertionError(f"{where}: keys {list(a)} differ from {list(b)}")
        for key in a:
            if key != TAG:
                inner = where if key in _STRUCTURAL_KEYS else f"{where}.{key}"
                _compare(a[key], b[key], ea, eb, inner)
        if a.get(TAG) != b.get(TAG):
            raise AssertionError(f"{where}: {a.get(TAG)} differs from {b.get(TAG)}")
        return
    if a != b:
        raise AssertionError(f"{where}: {a!r} differs from {b!r}")


def _array(node: dict[str, Any], encoder: Encoder) -> np.ndarray[Any, Any]:
    index = int(node["file"].split("/")[-1].split(".")[0])
    return encoder.arrays[index]


def _compare_arrays(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], where: str) -> None:
    if a.dtype != b.dtype or a.shape != b.shape:
        raise AssertionError(
            f"{where}: array of dtype {a.dtype} and shape {a.shape} differs from dtype {b.dtype} "
            f"and shape {b.shape}"
        )
    if not _same_bits(a, b):
        raise AssertionError(f"{where}: array contents differ")


def _same_bits(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    # Structured arrays are compared field by field: padding bytes between fields are undefined.
    if a.dtype.names is not None:
        return all(_same_bits(a[name], b[name]) for name in a.dtype.names)
    return bool(np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())
