"""A small client base with awkward cases, on which the common checks run by default."""

from __future__ import annotations

import functools

import pandas as pd

from b2bclient.base import ClientBase

__all__ = ["EXAMPLE_AS_OF", "example_base"]

#: The default cut-off of the checks: about two thirds into :func:`example_base`'s span.
EXAMPLE_AS_OF = pd.Timestamp("2023-01-01")


@functools.lru_cache(maxsize=4)
def example_base(seed: int = 0) -> ClientBase:
    """Return a small synthetic client base (2021 to 2024) with a few awkward organisations.

    Built with :func:`b2bclient.datasets.make_client_base` (150 organisations), plus: an
    organisation with no attributes and no activity at all (``Z-EMPTY``), a three-level holding
    under it (``Z-CHILD``, ``Z-GRANDCHILD``) whose grandchild has one purchase timed exactly at
    :data:`EXAMPLE_AS_OF` and one just before, and an organisation created just before
    :data:`EXAMPLE_AS_OF` (``Z-NEW``). The result is cached: treat it as read-only.

    Parameters
    ----------
    seed : int
        Seed of the synthetic part.

    Returns
    -------
    ClientBase

    Examples
    --------
    >>> base = example_base()
    >>> base.organisation("Z-EMPTY").industry is None
    True
    """
    from b2bclient.datasets import make_client_base

    base = make_client_base(n_organisations=150, start="2021-01-01", end="2024-01-01", seed=seed)
    tables = dict(base.tables)
    t = EXAMPLE_AS_OF
    extra_orgs = pd.DataFrame(
        {
            "organisation_id": ["Z-EMPTY", "Z-CHILD", "Z-GRANDCHILD", "Z-NEW"],
            "parent_id": [None, "Z-EMPTY", "Z-CHILD", None],
            "employees": pd.array([None, 12, None, 3], dtype="Int64"),
            "created_at": [
                pd.Timestamp("2021-02-01"),
                pd.Timestamp("2021-06-01"),
                pd.Timestamp("2022-01-01"),
                t - pd.Timedelta("1h"),
            ],
        }
    )
    extra_deals = pd.DataFrame(
        {
            "deal_id": ["Z-D1", "Z-D2"],
            "organisation_id": ["Z-GRANDCHILD", "Z-GRANDCHILD"],
            "created_at": [t - pd.Timedelta("10D"), t - pd.Timedelta("5D")],
            "closed_at": [t - pd.Timedelta("1ns"), t],
            "status": ["won", "won"],
            "amount": [250.0, 1e9],
            "channel": ["portal", "tender"],
        }
    )
    tables["organisations"] = pd.concat(
        [tables["organisations"], extra_orgs.astype({"created_at": "datetime64[ns]"})],
        ignore_index=True,
    )
    tables["deals"] = pd.concat(
        [tables["deals"].astype({"status": object, "channel": object}), extra_deals],
        ignore_index=True,
    )
    frames = {name: df for name, df in tables.items() if name != "organisations"}
    return ClientBase.from_frames(tables["organisations"], **frames)
