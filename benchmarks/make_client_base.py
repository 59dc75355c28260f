"""Time ``make_client_base`` and, optionally, measure how hard its planted signals are.

Usage::

    python benchmarks/make_client_base.py                    # 100 000 organisations, seed 0
    python benchmarks/make_client_base.py -n 20000 --quality # plus segment ARI, concordance, ...

The timing includes building the validated ClientBase. Peak memory is the peak resident set size of
the process (``resource.getrusage``), so run one size per process.

``--quality`` prints, per difficulty, the figures quoted in docs/datasets.md:

* the adjusted Rand index (ARI) of the Bayes classifier that knows the generator's mixture and sees
  the latent traits (the best any segmentation can reach), and of k-means (k=5) on standardised
  observable per-organisation aggregates;
* Harrell's concordance of the true linear predictor with the true churn times (censored at
  ``end``) on a held-out half of the organisations alive at the landmark;
* the share of 95% intervals of an unpenalised lifelines Cox fit that cover the true coefficients,
  over several seeds;
* the AUC of a simple partner signal (same region, same-site projects within 45 days, same-day site
  visits) of true pairs against all look-alikes of the buyer's industry.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time

import numpy as np
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.datasets import SyntheticTruth, make_client_base

END = pd.Timestamp("2025-01-01")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def time_generation(n: int, seed: int) -> None:
    start = time.perf_counter()
    base = make_client_base(n, seed=seed)
    elapsed = time.perf_counter() - start
    print(
        f"make_client_base(n_organisations={n:_}, seed={seed}) on {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    print(f"{'table':<16}{'rows':>12}")
    for name, table in base.tables.items():
        print(f"{name:<16}{len(table):>12,}")
    big = sum(len(base.tables[k]) for k in ("deals", "deal_lines", "interactions"))
    print(f"{'deals+lines+int.':<16}{big:>12,}")
    print(f"time {elapsed:.1f} s, peak resident memory {_peak_rss_mb():,.0f} MB")


def _aggregates(b: ClientBase) -> pd.DataFrame:
    orgs = b.organisations.set_index("organisation_id")
    years = ((END - orgs["created_at"]) / pd.Timedelta(days=365.25)).clip(lower=0.25)
    deals = b.deals
    won = deals[deals["status"] == "won"]
    lines = b.deal_lines.merge(b.products[["product_id", "kind"]], on="product_id")
    lines = lines.merge(deals[["deal_id", "organisation_id"]], on="deal_id")
    counts = (
        b.interactions.groupby(["organisation_id", "channel"], observed=True)
        .size()
        .unstack(fill_value=0)
        .reindex(orgs.index, fill_value=0)
    )
    f = pd.DataFrame(index=orgs.index)
    f["log_employees"] = np.log1p(orgs["employees"].astype("float64"))
    f["orders"] = np.log1p(
        won.groupby("organisation_id").size().reindex(orgs.index, fill_value=0) / years
    )
    median = won.groupby("organisation_id")["amount"].median().reindex(orgs.index)
    f["value"] = np.log(median.fillna(deals["amount"].median()))
    for channel in ("portal", "tender", "edi"):
        share = (deals["channel"] == channel).groupby(deals["organisation_id"]).mean()
        f[f"deals_{channel}"] = share.reindex(orgs.index, fill_value=0.0)
    service = (lines["kind"] == "service").groupby(lines["organisation_id"]).mean()
    f["service"] = service.reindex(orgs.index, fill_value=0.0)
    projects = b.projects.groupby("organisation_id").size().reindex(orgs.index, fill_value=0)
    f["projects"] = np.log1p(projects / years)
    f["touches"] = np.log1p(counts.sum(axis=1) / years)
    f["portal"] = counts["portal"] / counts.sum(axis=1).clip(lower=1)
    f["tickets"] = np.log1p(counts["support"] / years)
    f["personal"] = np.log1p((counts["email"] + counts["phone"] + counts["meeting"]) / years)
    f["contract"] = orgs.index.isin(b.contracts["organisation_id"]).astype("float64")
    return f


def _partner_auc(b: ClientBase, t: SyntheticTruth) -> float:
    orgs = b.organisations.set_index("organisation_id")
    pairs = t.partner_pairs.rename(columns={"organisation_id": "s", "partner_id": "b"})
    pairs["industry"] = pairs["b"].map(orgs["industry"])
    pool = orgs.reset_index()[["organisation_id", "industry"]]
    cand = pairs[["s", "industry"]].drop_duplicates().merge(pool, on="industry")
    cand = cand.rename(columns={"organisation_id": "b"})[["s", "b"]].reset_index(drop=True)
    true_keys = pd.MultiIndex.from_frame(pairs[["s", "b"]])
    cand["true"] = pd.MultiIndex.from_frame(cand[["s", "b"]]).isin(true_keys)
    score = (
        (cand["s"].map(orgs["region"]) == cand["b"].map(orgs["region"])).astype(float).to_numpy()
    )
    projects = b.projects.assign(site=b.projects["name"].str.split(" - ").str[0])
    projects = projects[["organisation_id", "site", "created_at"]]
    m = cand.reset_index().merge(projects, left_on="s", right_on="organisation_id")
    m = m.merge(projects, left_on=["b", "site"], right_on=["organisation_id", "site"])
    close = (m["created_at_x"] - m["created_at_y"]).abs() < pd.Timedelta(days=45)
    score += 2.0 * m[close].groupby("index").size().reindex(cand.index, fill_value=0).to_numpy()
    visits = b.interactions[b.interactions["kind"] == "site_visit"]
    visits = visits.assign(day=visits["occurred_at"].dt.floor("D"))[["organisation_id", "day"]]
    visits = visits.drop_duplicates()
    m = cand.reset_index().merge(visits, left_on="s", right_on="organisation_id")
    m = m.merge(visits, left_on=["b", "day"], right_on=["organisation_id", "day"])
    score += 3.0 * m.groupby("index").size().reindex(cand.index, fill_value=0).to_numpy()
    cand["score"] = score
    aucs = []
    for _, g in cand.groupby("s"):
        pos = g.loc[g["true"], "score"].to_numpy()
        neg = g.loc[~g["true"], "score"].to_numpy()
        aucs.append((pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean())
    return float(np.mean(aucs))


def quality(n: int, seed: int, coverage_seeds: int) -> None:
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    from b2bclient.datasets._segments import bayes_segments

    print(f"\nplanted signals, n_organisations={n:_}, seed={seed}")
    header = (
        f"{'difficulty':>10}{'Bayes ARI':>11}{'k-means ARI':>13}{'C held-out':>12}"
        f"{'churned':>9}{'partner AUC':>13}{'Cox 95% cover':>15}"
    )
    print(header)
    for difficulty in (0.0, 0.25, 0.5, 0.75, 1.0):
        base, truth = make_client_base(n, seed=seed, difficulty=difficulty, return_truth=True)
        codes = truth.segment.cat.codes.to_numpy()
        bayes = adjusted_rand_score(codes, bayes_segments(truth.traits.to_numpy(), difficulty))
        z = StandardScaler().fit_transform(_aggregates(base))
        km = KMeans(5, n_init=10, random_state=0).fit_predict(z)
        kmeans = adjusted_rand_score(codes, km)
        x = truth.covariates
        churned = truth.churned_at.reindex(x.index)
        duration = ((churned.fillna(END) - truth.landmark) / pd.Timedelta(days=1)).to_numpy()
        event = churned.notna().to_numpy()
        eta = (x @ truth.hazard_coefficients).to_numpy()
        half = np.random.default_rng(seed).random(len(x)) < 0.5
        c = concordance_index(duration[half], -eta[half], event[half])
        auc = _partner_auc(base, truth)
        covered = total = 0
        for s in range(seed, seed + coverage_seeds):
            _, tr = make_client_base(n, seed=s, difficulty=difficulty, return_truth=True)
            ch = tr.churned_at.reindex(tr.covariates.index)
            frame = tr.covariates.assign(
                duration=((ch.fillna(END) - tr.landmark) / pd.Timedelta(days=1)).to_numpy(),
                event=ch.notna().astype(int).to_numpy(),
            )
            summary = CoxPHFitter(penalizer=0.0).fit(frame, "duration", "event").summary
            beta = tr.hazard_coefficients
            inside = (summary["coef lower 95%"] <= beta) & (beta <= summary["coef upper 95%"])
            covered += int(inside.sum())
            total += len(beta)
        print(
            f"{difficulty:>10.2f}{bayes:>11.3f}{kmeans:>13.3f}{c:>12.3f}{event.mean():>9.2f}"
            f"{auc:>13.3f}{covered / total:>15.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-organisations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quality", action="store_true", help="also measure the planted signals")
    parser.add_argument("--coverage-seeds", type=int, default=4)
    args = parser.parse_args()
    time_generation(args.n_organisations, args.seed)
    if args.quality:
        quality(args.n_organisations, args.seed, args.coverage_seeds)


if __name__ == "__main__":
    main()
