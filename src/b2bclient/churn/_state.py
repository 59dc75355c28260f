"""What a saved ChurnModel holds: its encoding, a summary of the training data and the arrays of its kind.

The lifelines fitter is never stored: predictions come from the arrays, so a loaded model
predicts bit for bit like the original (``fitter_`` is None after loading). The boosting kinds
store their scikit-learn classifier, which :mod:`b2bclient.persist` saves as arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from b2bclient._exceptions import FormatError
from b2bclient.churn import _boosting, _lifelines

if TYPE_CHECKING:
    from b2bclient.churn._model import ChurnModel

__all__ = ["get_state", "set_state"]

_SUMMARY = (
    "columns",
    "categories",
    "feature_names_out",
    "n_features_in",
    "max_duration",
    "n_events",
    "horizon",
)
_OPTIONAL = ("feature_names_in", "output")


def _arrays(kind: str) -> tuple[str, ...]:
    return _boosting.STATE if kind in _boosting.KINDS else _lifelines.STATE[kind]


def get_state(model: ChurnModel) -> dict[str, Any]:
    """Return the state of `model` as plain values and arrays (no lifelines object)."""
    state: dict[str, Any] = {}
    config = getattr(model, "_sklearn_output_config", None)
    if config and config.get("transform") is not None:
        state["output"] = str(config["transform"])
    if not hasattr(model, "max_duration_"):
        return state  # not fitted: the parameters say everything
    columns, categories, out = model._encoding
    state.update(
        {
            "columns": list(columns),
            "categories": {k: list(v) for k, v in categories.items()},
            "feature_names_out": list(out),
            "n_features_in": int(model.n_features_in_),
            "max_duration": float(model.max_duration_),
            "n_events": int(model.n_events_),
            "horizon": None if model.horizon_ is None else float(model.horizon_),
        }
    )
    if hasattr(model, "feature_names_in_"):
        state["feature_names_in"] = [str(c) for c in model.feature_names_in_]
    for name in _arrays(model.kind):
        state[name.rstrip("_")] = getattr(model, name)
    return state


def set_state(model: ChurnModel, state: dict[str, Any]) -> None:
    """Rebuild `model` from the output of :func:`get_state`, refusing anything else."""
    if "output" in state:
        if state["output"] not in ("default", "pandas"):
            raise FormatError(f"The saved ChurnModel has an unknown output {state['output']!r}.")
        model._sklearn_output_config = {"transform": state["output"]}
    fitted = set(state) - set(_OPTIONAL)
    if not fitted and "feature_names_in" not in state:
        return
    arrays = {name.rstrip("_") for name in _arrays(model.kind)}
    expected = set(_SUMMARY) | arrays
    if fitted != expected:
        raise FormatError(
            f"The saved ChurnModel(kind={model.kind!r}) holds the state "
            f"{sorted(fitted)}, but this version stores {sorted(expected)}. The file is damaged "
            f"or was written by another version of b2bclient."
        )
    model._encoding = (
        list(state["columns"]),
        {k: list(v) for k, v in state["categories"].items()},
        list(state["feature_names_out"]),
    )
    model.feature_names_out_ = np.asarray(state["feature_names_out"], dtype=object)
    model.n_features_in_ = int(state["n_features_in"])
    if "feature_names_in" in state:
        model.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    model.max_duration_ = float(state["max_duration"])
    model.n_events_ = int(state["n_events"])
    model.horizon_ = None if state["horizon"] is None else float(state["horizon"])
    for key in sorted(arrays):
        value = state[key]
        if isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=np.float64)
        setattr(model, f"{key}_", value)
    model.fitter_ = None
