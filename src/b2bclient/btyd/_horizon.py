"""Warn when a summary is asked for a time after the end of the recorded data.

An ``as_of`` long after the base's last event stretches every customer's age ``T`` over a
stretch that was never observed, which buy-till-you-die models read as silence: P(alive) and the
expected purchases fall. The rule is the one ``training_frame`` and ``survival_frame`` apply,
:func:`b2bclient._horizon.warn_beyond_data`.
"""

from __future__ import annotations

import pandas as pd

from b2bclient._horizon import warn_beyond_data
from b2bclient.base import ClientBase

__all__ = ["warn_after_data"]


def warn_after_data(base: ClientBase, end: pd.Timestamp, *, name: str, owner: str) -> bool:
    """Warn (UserWarning) when `end` lies implausibly long after the base's last event.

    Returns whether the warning was given. The warning points at the caller of `owner`.
    """
    return warn_beyond_data(
        base,
        end,
        subject=f"The '{name}' given to {owner} is",
        consequence=(
            "Every customer's T would stretch over the unobserved time and read as silence, "
            "lowering P(alive) and the expected purchases."
        ),
        remedy=f"Use a {name} at most the end of the export, such as the day after the last event.",
        stacklevel=3,
    )
