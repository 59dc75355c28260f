"""Turning an order log (ERP) into rows of the deals table, to combine with CRM opportunities."""

from __future__ import annotations

import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = ["deals_from_orders"]

_NEEDED = ("organisation_id", "created_at", "amount")


def deals_from_orders(
    orders: pd.DataFrame, *, id_column: str | None = None, prefix: str = "ORDER-"
) -> pd.DataFrame:
    """Return an order log as rows of the ``deals`` table: each order a won deal.

    An order log (organisation, time, amount) is what an ERP exports; opportunities are what a
    CRM exports. Both are deals. This gives each order a deal id that cannot collide with the
    CRM's (`prefix` followed by the order's own id, or by its row label), status ``"won"`` and
    ``closed_at`` equal to ``created_at`` where the log has no status or closing time, so that
    ``pd.concat([opportunities, deals_from_orders(orders)])`` is one deals table.

    A won opportunity that the ERP also booked as an order would count twice: keep the orders as
    the purchases and only the open and lost opportunities
    (``opportunities[opportunities["status"] != "won"]``), or drop the orders that match a won
    opportunity by a key the two systems share.

    Parameters
    ----------
    orders : pandas.DataFrame
        At least ``organisation_id``, ``created_at`` and ``amount`` (rename first with
        ``orders.rename(columns=...)``); other columns are kept.
    id_column : str, optional
        Column holding the order number; by default the row labels of `orders` are used, so
        ids read ``ORDER-0``, ``ORDER-1``, ... for a default index.
    prefix : str, default "ORDER-"
        Text put before each id.

    Returns
    -------
    pandas.DataFrame
        ``deal_id``, ``status`` and ``closed_at`` first, then the columns of `orders`.

    Raises
    ------
    InvalidParameterError
        When a needed column or `id_column` is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> orgs = pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2023-01-01"]})
    >>> crm = pd.DataFrame({"deal_id": ["D-7"], "organisation_id": ["O-1"],
    ...     "created_at": ["2024-03-01"], "status": ["open"], "amount": [900.0]})
    >>> erp = pd.DataFrame({"order_no": [5001, 5002], "organisation_id": ["O-1", "O-1"],
    ...     "created_at": ["2024-01-10", "2024-02-10"], "amount": [120.0, 80.0]})
    >>> deals = pd.concat([crm, deals_from_orders(erp, id_column="order_no")], ignore_index=True)
    >>> ClientBase.from_frames(orgs, deals=deals).deals[["deal_id", "status", "amount"]]
          deal_id status  amount
    0         D-7   open   900.0
    1  ORDER-5001    won   120.0
    2  ORDER-5002    won    80.0
    """
    if not isinstance(orders, pd.DataFrame):
        raise InvalidParameterError(
            f"deals_from_orders takes a pandas DataFrame. Got {type(orders).__name__} instead."
        )
    missing = [c for c in _NEEDED if c not in orders.columns]
    if id_column is not None and id_column not in orders.columns:
        missing.append(id_column)
    if missing:
        raise InvalidParameterError(
            f"The order log passed to deals_from_orders has no column {missing[0]!r}; found "
            f"{[str(c) for c in orders.columns][:12]}. Rename the columns first, e.g. "
            f"orders.rename(columns={{'Customer': 'organisation_id'}})."
        )
    keys = (
        orders[id_column] if id_column is not None else pd.Series(orders.index, index=orders.index)
    )
    ids = [
        prefix + (str(int(k)) if isinstance(k, float) and k.is_integer() else str(k)) for k in keys
    ]
    out = orders.drop(columns=[c for c in ("deal_id",) if c in orders.columns])
    front = {
        "deal_id": ids,
        "status": orders["status"] if "status" in orders.columns else "won",
        "closed_at": orders["closed_at"] if "closed_at" in orders.columns else orders["created_at"],
    }
    rest = out.drop(columns=[c for c in ("status", "closed_at") if c in out.columns])
    return pd.concat([pd.DataFrame(front, index=orders.index), rest], axis=1)
