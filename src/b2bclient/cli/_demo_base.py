"""Report sections on the data itself: the client base's tables and the features built from them."""

from __future__ import annotations

import pandas as pd

from b2bclient.cli._context import Context

__all__ = ["base_section", "features_section"]


def base_section(ctx: Context) -> None:
    """Summarise the tables: rows, columns and the span of each table's time column."""
    base = ctx.base
    ctx.out.section(f"Client base: {len(base):,} organisations")
    summary = base.summary()[["rows", "columns", "first", "last"]]
    ctx.out.frame(summary, floatfmt="{:,.0f}", caption="Tables")
    orgs = base.organisations
    known = int((orgs["created_at"] < ctx.as_of).sum())
    ctx.out.line(
        f"{known:,} organisations known before {ctx.as_of.date()}; models are fitted at "
        f"{ctx.landmark.date()} on the outcomes observed between then and {ctx.as_of.date()}."
    )
    if orgs["size_band"].notna().any():
        bands = orgs["size_band"].value_counts(sort=False).to_frame("organisations")
        bands["share"] = bands["organisations"] / bands["organisations"].sum()
        ctx.out.frame(bands, floatfmt="{:.2f}", caption="Organisations by size band")
    if ctx.truth is not None:
        counts = ctx.truth.segment.value_counts().to_frame("organisations")
        ctx.out.frame(counts, caption="Planted segments (truth, unknown to the models)")


def features_section(ctx: Context) -> None:
    """Describe the feature table: one row per organisation, columns by extractor."""
    X = ctx.features
    ctx.out.section(f"Features as of {ctx.as_of.date()}: one row per organisation")
    ctx.out.line(
        f"{X.shape[0]:,} organisations x {X.shape[1]} features, computed only from data before "
        f"{ctx.as_of.date()}."
    )
    extractor = pd.Index([c.split("__", 1)[0] for c in X.columns], name="extractor")
    groups = pd.DataFrame(
        {
            "features": pd.Series(1, index=X.columns).groupby(extractor.to_numpy()).sum(),
            "share_missing": X.isna().mean().groupby(extractor.to_numpy()).mean(),
        }
    )
    groups.index.name = "extractor"
    ctx.out.frame(groups, floatfmt="{:.2f}", caption="Features by extractor")
    example = X.iloc[0]
    shown = [c for c in X.columns if c.startswith(("purchasing__", "engagement__", "contracts__"))]
    if shown:
        ctx.out.frame(
            example[shown[:10]].to_frame(str(example.name)),
            caption=f"A few features of {example.name}",
        )
    numeric = X.select_dtypes("number")
    if numeric.shape[1]:
        described = numeric.describe().T[["count", "mean", "min", "max"]]
        ctx.out.frame(
            described,
            caption=f"Every numeric feature ({numeric.shape[1]})",
            collapsed=True,
            max_rows=20,
        )
