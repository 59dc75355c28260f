"""The container of ChurnModel's predictions: NumPy arrays or pandas objects, as configured.

scikit-learn's ``set_output`` chooses the container of transformers' outputs; ChurnModel applies
the same configuration to its predictions. By default (``"default"``, or not configured) the
predictions follow `X`: a DataFrame gives pandas objects aligned with its index, as
:meth:`ChurnModel.predict_survival` and the buy-till-you-die methods do, and an array gives an
array. ``set_output(transform="pandas")`` (or scikit-learn's global
``set_config(transform_output="pandas")`` when the model is not configured) gives pandas for
arrays too, with a RangeIndex.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = ["CONTAINERS", "check_container", "container", "wrap"]

#: The values ``set_output(transform=...)`` accepts besides None.
CONTAINERS = ("default", "pandas")


def check_container(value: Any, owner: str) -> str | None:
    """Return a valid ``set_output`` container, refusing anything else."""
    if value is None or value in CONTAINERS:
        return value  # type: ignore[no-any-return]
    raise InvalidParameterError(
        f"The 'transform' parameter of {owner}.set_output must be 'pandas', 'default' or None. "
        f"Got {value!r} instead."
    )


def container(config: dict[str, Any] | None, X: Any) -> str:
    """Return ``"pandas"`` or ``"default"`` (an array) for predictions on `X` under `config`."""
    chosen = (config or {}).get("transform")
    if chosen is None:
        import sklearn

        chosen = "pandas" if sklearn.get_config()["transform_output"] == "pandas" else "default"
    if chosen == "pandas" or isinstance(X, pd.DataFrame):
        return "pandas"
    return "default"


def wrap(
    values: npt.NDArray[np.float64], X: Any, name: str, config: dict[str, Any] | None
) -> npt.NDArray[np.float64] | pd.Series:
    """Return `values` in the configured container, indexed like `X` when it is a DataFrame."""
    if container(config, X) != "pandas":
        return values
    index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(values.shape[0])
    return pd.Series(values, index=index, name=name)
