"""Report section on the pipeline and potential: win probabilities, the revenue outlook, whitespace.

Sets ``ctx.results["win_model"]`` (a :class:`~b2bclient.pipeline.WinModel` fitted as of
``ctx.as_of``), ``ctx.results["forecast"]`` (the :class:`~b2bclient.pipeline.Forecast` of the
90 days from ``ctx.as_of``) and ``ctx.results["wallet_model"]`` (a
:class:`~b2bclient.potential.WalletModel` fitted as of ``ctx.as_of``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2bclient.cli._context import Context

__all__ = ["pipeline_section"]

_HORIZON = "90D"


def _calibration(ctx: Context) -> None:
    """Fit at the landmark; score the deals created after it, each seen at its creation."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    from b2bclient._plotting import pyplot
    from b2bclient.pipeline import WinModel, calibration_table, plot_calibration

    model = WinModel().fit(ctx.base, as_of=ctx.landmark)
    rows = model.training_frame(ctx.base, ctx.as_of)
    held = rows[(rows["deal__age_days"] == 0) & (rows["at"] >= ctx.landmark)]
    if held["won"].nunique() < 2:
        ctx.out.note("Too few deals closed after the landmark to check the win probabilities.")
        return
    y = held["won"].to_numpy()
    p = model.predict_proba(held[list(model.feature_names_in_)])[:, 1]
    closed = ctx.base.as_of(ctx.landmark).deals
    closed = closed[closed["status"] != "open"]
    rate = (closed["status"] == "won").groupby(closed["channel"].astype(object)).mean()
    p_channel = held["deal__channel"].astype(object).map(rate).fillna(rate.mean()).to_numpy(float)
    scores = {
        "WinModel": (brier_score_loss(y, p), roc_auc_score(y, p)),
        "channel's win rate": (brier_score_loss(y, p_channel), roc_auc_score(y, p_channel)),
    }
    if ctx.truth is not None:
        p_true = ctx.truth.win_probability.reindex(held["deal_id"]).to_numpy(float)
        scores["planted probability"] = (brier_score_loss(y, p_true), roc_auc_score(y, p_true))
    table = pd.DataFrame(scores, index=["Brier", "AUC"]).T
    ctx.out.frame(
        table,
        caption=f"Win probabilities of the {len(held):,} deals created after "
        f"{ctx.landmark.date()} and closed before {ctx.as_of.date()}, each seen at its creation "
        f"(fitted on {model.training_rows_:,} snapshots of deals closed before the landmark)",
    )
    gap = calibration_table(y, p)["gap"].abs().max()
    ctx.out.line(
        f"Largest gap between mean predicted probability and win rate over the deciles: {gap:.3f}."
    )
    _, ax = pyplot().subplots(figsize=(5.5, 5.0))
    plot_calibration(y, p, baseline=p_channel, ax=ax)
    ax.set_title("Calibration on held-out deals")
    ctx.out.figure(
        ax,
        caption="Win rate against mean predicted probability, per decile of the prediction; "
        "the baseline predicts each channel's win rate.",
    )


def pipeline_section(ctx: Context) -> None:
    """Win probabilities checked after the landmark; forecast and whitespace as of as_of."""
    from b2bclient._plotting import pyplot
    from b2bclient.pipeline import WinModel, forecast
    from b2bclient.potential import WalletModel, plot_whitespace

    ctx.out.section("Pipeline and potential: which deals close, next quarter, whitespace")
    _calibration(ctx)

    model = WinModel().fit(ctx.base, as_of=ctx.as_of)
    ctx.results["win_model"] = model
    segments = ctx.results.get("segments")
    outlook = forecast(ctx.base, ctx.as_of, _HORIZON, win_model=model, segments=segments)
    ctx.results["forecast"] = outlook
    end = (ctx.as_of + outlook.horizon).date()
    ctx.out.line(
        f"Revenue won in [{ctx.as_of.date()}, {end}): expected {outlook.expected:,.0f}, "
        f"{outlook.level:.0%} interval [{outlook.lower:,.0f}, {outlook.upper:,.0f}]."
    )
    ctx.out.frame(
        outlook.summary(),
        floatfmt="{:,.0f}",
        caption="The forecast by component: open deals weighted by their chance to close won in "
        "the horizon, repeat business of clients (BG/NBD x Gamma-Gamma, net of their open "
        "deals), new clients at the recent rate",
    )
    ctx.out.frame(outlook.by_channel, floatfmt="{:,.0f}", caption="Expected revenue by channel")
    deals = outlook.deals.sort_values("expected_won", ascending=False).head(10)
    ctx.out.frame(
        deals[["organisation_id", "channel", "amount", "p_win", "p_close", "expected_won"]],
        floatfmt="{:,.2f}",
        caption="Open deals with the largest expected won revenue in the horizon",
    )

    wallet = WalletModel().fit(ctx.base, as_of=ctx.as_of)
    ctx.results["wallet_model"] = wallet
    orgs = ctx.base.organisations.set_index("organisation_id")
    top = wallet.ranking(10)
    top.insert(0, "name", orgs["name"].reindex(top.index) if "name" in orgs else "")
    ctx.out.frame(
        top,
        floatfmt="{:,.2f}",
        caption="Top whitespace accounts: attainable yearly spend (upper quantile among peers "
        "of their size, industry, region and buying pattern) minus last year's spend",
    )
    drivers = wallet.drivers(top.index[:3], k=3)
    ctx.out.frame(drivers, floatfmt="{:,.2f}", caption="What drives the wallet of the top three")
    if segments is None:
        labels = orgs["size_band"] if "size_band" in orgs else pd.Series("all", index=orgs.index)
        kind = "size band"
    else:
        labels, kind = segments, "segment"
    _, ax = pyplot().subplots(figsize=(7.5, 4.2))
    plot_whitespace(wallet, labels, ax=ax)
    ctx.out.figure(ax, caption=f"Last year's spend and whitespace by {kind}.")
    if ctx.truth is not None:
        from scipy.stats import spearmanr

        ids = wallet.spend_.index[wallet.spend_ > 0]
        rho = spearmanr(wallet.potential_[ids], ctx.truth.wallet.reindex(ids)).statistic
        share = ctx.truth.wallet_share.reindex(wallet.whitespace_.index)
        low = share < share.median()
        part = wallet.whitespace_[low.to_numpy()].sum() / max(wallet.whitespace_.sum(), 1e-12)
        ctx.out.line(
            f"Against the planted wallets: Spearman {rho:.3f} over the {len(ids):,} organisations "
            f"that bought last year; {part:.0%} of the whitespace lies with the organisations "
            "whose planted share is below the median."
        )
    if not np.isfinite(outlook.expected):
        ctx.out.note("The forecast is not finite: check the deals' amounts.")
