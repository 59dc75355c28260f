"""What loading changed on purpose: recorded in ``ClientBase.repairs`` and summarised in one warning.

Nothing is changed silently. Every change the loaders make to the user's values — ids read as
text, empty strings read as null, enum values matched ignoring case and spacing, creation times
moved back by ``repair="known_since_first_activity"`` — is a line of the ``repairs`` frame, and
the loader emits one :class:`~b2bclient.B2BClientWarning` that summarises them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["REPAIR_COLUMNS", "Repairs", "empty_repairs"]

#: Columns of ``ClientBase.repairs``.
REPAIR_COLUMNS = ["table", "column", "check", "row_id", "value", "repaired_to", "rows"]
_LINES = 12  # lines of the warning before "and n more"


def empty_repairs() -> pd.DataFrame:
    """Return an empty repairs frame.

    Examples
    --------
    >>> list(empty_repairs().columns)
    ['table', 'column', 'check', 'row_id', 'value', 'repaired_to', 'rows']
    """
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in REPAIR_COLUMNS})
    return frame.astype({"rows": "int64"})


class Repairs:
    """Collects the changes made while loading; each group is one line of the warning."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, str, str, str, list[tuple[Any, Any, Any, int]]]] = []

    def add(
        self,
        table: str,
        column: str,
        check: str,
        description: str,
        records: Iterable[tuple[Any, Any, Any, int]],
    ) -> None:
        """Record a change: `records` holds ``(row_id, value, repaired_to, rows)``."""
        self.groups.append((table, column, check, description, list(records)))

    def frame(self) -> pd.DataFrame:
        """Return one line per record, in the order they were added."""
        rows = [
            (table, column, check, row_id, value, repaired_to, count)
            for table, column, check, _, records in self.groups
            for row_id, value, repaired_to, count in records
        ]
        if not rows:
            return empty_repairs()
        frame = pd.DataFrame.from_records(rows, columns=REPAIR_COLUMNS)
        return frame.astype({"rows": "int64"})

    def message(self) -> str:
        """Return the text of the warning (empty when nothing was changed)."""
        if not self.groups:
            return ""
        lines = [
            f"Loading changed values in {len(self.groups)} place"
            f"{'s' * (len(self.groups) != 1)} (each is a line of base.repairs; nothing else was "
            f"changed):"
        ]
        for table, column, _, description, _ in self.groups[:_LINES]:
            lines.append(f"  {table}.{column}: {description}")
        if len(self.groups) > _LINES:
            lines.append(f"  and {len(self.groups) - _LINES} more")
        return "\n".join(lines)
