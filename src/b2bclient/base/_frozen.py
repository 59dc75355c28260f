"""Read-only tables: the arrays behind a validated table cannot be written.

A :class:`~b2bclient.base.ClientBase` hands out a new frame over its data at each access, and
the data's arrays are marked non-writeable, so ``base.deals.loc[0, "amount"] = -100`` raises
``ValueError: assignment destination is read-only`` instead of changing what every later
computation reads. Nothing is copied: freezing costs a flag per array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["freeze"]

# Where pandas' arrays keep their NumPy data: datetime and numpy-backed arrays (_ndarray),
# categoricals (_codes), nullable integers and booleans (_data and _mask).
_PARTS = ("_ndarray", "_codes", "_data", "_mask")


def _freeze_values(values: Any) -> None:
    if isinstance(values, np.ndarray):
        values.flags.writeable = False
        return
    for part in _PARTS:
        array = getattr(values, part, None)
        if isinstance(array, np.ndarray):
            array.flags.writeable = False


def freeze(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark every array behind `frame` non-writeable, in place, and return `frame`.

    Examples
    --------
    >>> frame = freeze(pd.DataFrame({"a": [1.0, 2.0]}))
    >>> frame["a"].to_numpy().flags.writeable
    False
    """
    for block in frame._mgr.blocks:  # the arrays themselves, not column views of them
        _freeze_values(block.values)
    return frame
