"""Readable segment profiles: sizes, revenue, distinguishing features, industries, a short label."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["differences", "plain_names", "profile_table"]

Ints = npt.NDArray[np.int64]

_REVENUE_COLUMNS = ("purchasing__revenue_365d", "purchasing__revenue_total")
_INDUSTRY = "firmographics__industry"
_REGION = "firmographics__region"
_SIZE_BAND = "firmographics__size_band"
_SIZE_WORDS = {
    "micro": "micro",
    "small": "small",
    "medium": "mid-sized",
    "large": "large",
    "enterprise": "enterprise",
}
#: Short phrases for a segment far above (first) or below (second) the rest on a feature.
_PHRASES: dict[str, tuple[str | None, str | None]] = {
    "purchasing__share_portal_365d": ("portal-heavy", "little portal buying"),
    "engagement__portal_share_365d": ("portal-heavy", "little portal use"),
    "engagement__portal_365d": ("portal-heavy", "little portal use"),
    "product_mix__service_share": ("high service use", "few services"),
    "services__service_categories": ("high service use", "few services"),
    "purchasing__share_tender_365d": ("tender-driven", None),
    "purchasing__share_edi_365d": ("EDI-connected", None),
    "purchasing__orders_total": ("frequent buyers", "rare buyers"),
    "purchasing__orders_365d": ("frequent buyers", "rare buyers"),
    "purchasing__mean_order_value_365d": ("large orders", "small orders"),
    "projects__projects_total": ("project-driven", None),
    "engagement__tickets_365d": ("support-intensive", "few tickets"),
    "contracts__active": ("under contract", "no contract"),
    "contracts__contracts_total": ("under contract", "no contract"),
    "engagement__email_365d": ("high-touch", "low-touch"),
    "engagement__meeting_365d": ("high-touch", "low-touch"),
    "purchasing__recency_days": ("lapsing", "recently active"),
}
_PHRASE_MIN = 0.5  # standardised difference a phrase needs
_LIFT_MIN = 1.3  # an industry names the segment when this much more common than overall


def plain_names(columns: Sequence[str]) -> dict[str, str]:
    """Return a plain name for each column: its ``describe_features`` text, else the column."""
    from b2bclient.features import describe_features

    try:
        table = describe_features()
    except Exception:
        table = pd.DataFrame(columns=["column", "description"])
    known = dict(zip(table["column"], table["description"], strict=True))
    out = {}
    for column in columns:
        text = known.get(column)
        if text is None:
            out[column] = column
            continue
        text = re.sub(r"\s*\((?:0|NaN|null)[^)]*\)", "", str(text)).strip()
        text = text.split(";")[0].rstrip(".").strip()
        out[column] = text
    return out


def _numeric_matrix(X: pd.DataFrame) -> pd.DataFrame:
    from b2bclient.features._preprocess import FeaturePreprocessor

    pre = FeaturePreprocessor(missing_indicator=False, categorical="drop")
    pre.set_output(transform="pandas")
    matrix = pre.fit_transform(X)
    binary = set(pre.kinds_[pre.kinds_ == "binary"].index)
    keep = [c for c in matrix.columns if c not in binary or c in _PHRASES]
    return matrix[keep]


def differences(X: pd.DataFrame, labels: Ints) -> pd.DataFrame:
    """Return the standardised difference of every numeric feature, segment against the rest.

    Features are taken through the preprocessor (signed log1p of money and counts, median for
    missing values); the difference is ``(mean in segment - mean of the rest) / sd`` with the
    standard deviation over all organisations. Rows are features, columns segments.
    """
    matrix = _numeric_matrix(X)
    z = matrix.to_numpy(dtype=np.float64)
    sd = z.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    segments = sorted(int(s) for s in np.unique(labels))
    out = {}
    for s in segments:
        inside = labels == s
        if inside.all():
            out[s] = np.zeros(z.shape[1])
            continue
        out[s] = (z[inside].mean(axis=0) - z[~inside].mean(axis=0)) / sd
    frame = pd.DataFrame(out, index=pd.Index(matrix.columns, name="feature"))
    frame.columns.name = "segment"
    return frame


def _distinct_top(
    d: pd.Series, corr: pd.DataFrame, n: int, sign: float, limit: float = 0.7
) -> list[str]:
    chosen: list[str] = []
    for column in (d * sign).sort_values(ascending=False).index:
        if d[column] * sign <= 0.2 or len(chosen) == n:
            break
        if all(abs(corr.loc[column, c]) < limit for c in chosen):
            chosen.append(column)
    return chosen


def _shares(values: pd.Series, inside: npt.NDArray[np.bool_], n: int = 2) -> tuple[str, list[Any]]:
    seg = values[inside].value_counts(normalize=True)
    overall = values.value_counts(normalize=True)
    top = seg.head(n)
    text = ", ".join(f"{level} {share:.0%}" for level, share in top.items())
    lifted = [
        level
        for level, share in top.items()
        if share >= 0.15 and share >= _LIFT_MIN * float(overall.get(level, 0.0))
    ]
    return text, lifted


def _size_word(values: pd.Series, inside: npt.NDArray[np.bool_]) -> str | None:
    s = values[inside].dropna()
    if s.empty or not isinstance(values.dtype, pd.CategoricalDtype) or not values.dtype.ordered:
        return None
    codes = s.cat.codes.to_numpy()
    median = values.dtype.categories[int(np.median(codes))]
    return _SIZE_WORDS.get(str(median), str(median))


def profile_table(X: pd.DataFrame, labels: Ints, *, top: int = 3) -> pd.DataFrame:
    """Return one row per segment: label, size, revenue share, industries, regions, features."""
    diff = differences(X, labels)
    matrix = _numeric_matrix(X)
    corr = matrix.corr().fillna(0.0)
    names = plain_names(list(diff.index))
    revenue_column = next((c for c in _REVENUE_COLUMNS if c in X.columns), None)
    revenue = (
        X[revenue_column].fillna(0.0).to_numpy(dtype=np.float64)
        if revenue_column is not None
        else None
    )
    rows = []
    for s in diff.columns:
        inside = labels == s
        d = diff[s]
        higher = _distinct_top(d, corr, top, 1.0)
        lower = _distinct_top(d, corr, top, -1.0)
        row: dict[str, Any] = {"segment": s}
        phrases: list[str] = []
        for column in d.abs().sort_values(ascending=False).index:
            if column not in _PHRASES or abs(d[column]) < _PHRASE_MIN:
                continue
            phrase = _PHRASES[column][0 if d[column] > 0 else 1]
            if phrase and phrase not in phrases:
                phrases.append(phrase)
            if len(phrases) == 2:
                break
        head = []
        if _SIZE_BAND in X.columns:
            word = _size_word(X[_SIZE_BAND], inside)
            if word:
                head.append(word)
        if _INDUSTRY in X.columns:
            text, lifted = _shares(X[_INDUSTRY].astype(object), inside)
            row["industries"] = text
            head.extend(str(v) for v in lifted[:1])
        if _REGION in X.columns:
            row["regions"] = _shares(X[_REGION].astype(object), inside)[0]
        label = " ".join([*head, "clients"]) if head else "clients"
        row["label"] = ", ".join([label, *phrases]) if phrases else f"{label}, average behaviour"
        row["organisations"] = int(inside.sum())
        row["share"] = float(inside.mean())
        if revenue is not None:
            total = revenue.sum()
            row["revenue_share"] = float(revenue[inside].sum() / total) if total > 0 else np.nan
        row["higher"] = "; ".join(f"{names[c]} ({d[c]:+.1f} sd)" for c in higher)
        row["lower"] = "; ".join(f"{names[c]} ({d[c]:+.1f} sd)" for c in lower)
        rows.append(row)
    order = [
        "label",
        "organisations",
        "share",
        "revenue_share",
        "industries",
        "regions",
        "higher",
        "lower",
    ]
    table = pd.DataFrame(rows).set_index("segment")
    table = table[[c for c in order if c in table.columns]]
    if revenue_column is not None:
        table.attrs["revenue_column"] = revenue_column
    return table
