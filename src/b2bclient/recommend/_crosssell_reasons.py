"""Plain-words reasons of CrossSell recommendations, each a checkable statement about the data.

The reason of a recommendation is the signal that contributed most to its score, stated with the
counts behind it, all taken from the rows known before ``as_of``:

* ``similar``: "organisations that bought <product it bought> also bought it: 41 of 230";
* ``industry``: "bought by 120 of 410 construction organisations";
* ``segment``: "bought by 80 of 300 organisations of segment 'key_accounts'";
* ``stage``: "its project <name> (<id>) is in delivery; organisations with a project in delivery
  bought it 3.2 times as often in the next 180 days";
* ``attached``: "added to 95 of 700 won deals with <good>, which it buys";
* ``popular`` (and whenever no other signal speaks for the product): "bought by 900 of 4000
  organisations".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from b2bclient.base._schema import STAGES
from b2bclient.recommend._context import attached_signal, stage_signal

if TYPE_CHECKING:
    from b2bclient.recommend._crosssell import CrossSell

__all__ = ["explain"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _lookup(matrix: object, rows: IntArray, cols: IntArray) -> FloatArray:
    """Return ``matrix[rows, cols]`` elementwise for a dense array or a sparse matrix."""
    if rows.shape[0] == 0:
        return np.zeros(0)
    if sp.issparse(matrix):
        return np.asarray(sp.csr_matrix(matrix)[rows, cols], dtype=np.float64).ravel()
    return np.asarray(np.asarray(matrix)[rows, cols], dtype=np.float64)


def _anchors(model: CrossSell, orgs: IntArray, items: IntArray) -> IntArray:
    """Return, per (organisation, item), the bought product that contributes most to ``similar``.

    -1 where no bought product is similar to the item.
    """
    snap = model._snapshot
    owned = sp.csr_matrix(snap.owned[orgs])
    counts = np.diff(owned.indptr)
    rec = np.repeat(np.arange(orgs.shape[0]), counts)
    cols = owned.indices.astype(np.int64)
    contrib = np.log1p(owned.data) * _lookup(snap.item_model, cols, items[rec])
    anchor = np.full(orgs.shape[0], -1, dtype=np.int64)
    positive = contrib > 0
    rec, cols, contrib = rec[positive], cols[positive], contrib[positive]
    order = np.lexsort((cols, -contrib, rec))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = rec[order][1:] != rec[order][:-1]
    anchor[rec[order][first]] = cols[order][first]
    return anchor


def co_buyers(model: CrossSell) -> sp.csr_matrix:
    """Return products x products: organisations that bought both (cached on the model)."""
    cached = getattr(model, "_co_buyers", None)
    if cached is None:
        bought = sp.csr_matrix(model._snapshot.owned, copy=True)
        bought.data = np.ones_like(bought.data)
        cached = sp.csr_matrix(bought.T @ bought)
        model._co_buyers = cached
    return cached


def explain(
    model: CrossSell, codes: IntArray, row: IntArray, item: IntArray, contrib: FloatArray
) -> npt.NDArray[np.object_]:
    """Return the reason of each recommendation (organisation ``codes[row]``, product `item`)."""
    snap = model._snapshot
    signals = model.signals_
    orgs = codes[row]
    n = orgs.shape[0]
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    c = contrib[row, item, :].copy()
    # A signal is a reason only where there is evidence behind it.
    _, stage_source = stage_signal(snap, codes)
    attach_value, attach_source = attached_signal(snap, codes)
    anchor = _anchors(model, orgs, item)
    evidence = {
        "similar": anchor >= 0,
        "popular": np.zeros(n, dtype=bool),
        "industry": model.industry_[orgs] >= 0,
        "segment": model.segment_[orgs] >= 0,
        "stage": stage_source[row, item] >= 0,
        "attached": (attach_source[row, item] >= 0) & (attach_value[row, item] > 0),
    }
    for f, name in enumerate(signals):
        c[:, f] = np.where(evidence[name], c[:, f], -np.inf)
    best = np.argmax(c, axis=1)
    best_value = np.take_along_axis(c, best[:, None], axis=1)[:, 0]
    kind = np.array([signals[b] for b in best], dtype=object)
    kind[~(best_value > 0)] = "popular"
    date = model.as_of_.date().isoformat()
    names = model.product_names_
    days = int(model.horizon_ / np.timedelta64(1, "D"))

    sel = np.flatnonzero(kind == "similar")
    if sel.shape[0]:
        a, i = anchor[sel], item[sel]
        both = _lookup(co_buyers(model), a, i).astype(np.int64)
        out[sel] = [
            f"organisations that bought {names[x]} (as it did) also bought it: {b} of "
            f"{int(snap.buyers[x])} before {date}"
            for x, b in zip(a, both, strict=True)
        ]
    for name in ("industry", "segment"):
        sel = np.flatnonzero(kind == name)
        if not sel.shape[0]:
            continue
        codes_g = (model.industry_ if name == "industry" else model.segment_)[orgs[sel]]
        buyers = snap.industry_buyers if name == "industry" else snap.segment_buyers
        size = snap.industry_size if name == "industry" else snap.segment_size
        labels = model.industry_names_ if name == "industry" else model.segment_names_
        counts = buyers[codes_g, item[sel]].astype(np.int64)
        if name == "industry":
            out[sel] = [
                f"bought by {c_} of {int(size[g])} {labels[g]} organisations before {date}"
                for c_, g in zip(counts, codes_g, strict=True)
            ]
        else:
            out[sel] = [
                f"bought by {c_} of {int(size[g])} organisations of segment {labels[g]!r} "
                f"before {date}"
                for c_, g in zip(counts, codes_g, strict=True)
            ]
    sel = np.flatnonzero(kind == "stage")
    if sel.shape[0]:
        src = stage_source[row[sel], item[sel]]
        stage_codes = snap.stage_code[src]
        projects = snap.stage_project[src]
        lifts = snap.lift_ratio[stage_codes, item[sel]]
        out[sel] = [
            f"its project {model.project_names_[p]} ({model.project_ids_[p]}) is in "
            f"{STAGES[s]}; organisations with a project in {STAGES[s]} bought it {lift:.1f} "
            f"times as often in the next {days} days"
            for p, s, lift in zip(projects, stage_codes, lifts, strict=True)
        ]
    sel = np.flatnonzero(kind == "attached")
    if sel.shape[0]:
        good = attach_source[row[sel], item[sel]]
        gi = np.searchsorted(snap.goods, good)
        si = np.searchsorted(snap.services, item[sel])
        out[sel] = [
            f"added to {int(snap.attach_deals[g_, s_])} of {int(snap.goods_deals[g_])} won deals "
            f"with {names[x]}, which it buys"
            for g_, s_, x in zip(gi, si, good, strict=True)
        ]
    sel = np.flatnonzero(kind == "popular")
    out[sel] = [
        f"bought by {int(snap.buyers[i])} of {snap.n_known} organisations before {date}"
        for i in item[sel]
    ]
    return out
