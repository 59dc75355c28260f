"""Types shared across b2bclient: the extension points live here (STYLE.md rule 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import pandas as pd

__all__ = ["Tables"]

#: The canonical tables by name, as handed to feature extractors.
Tables: TypeAlias = Mapping[str, pd.DataFrame]
