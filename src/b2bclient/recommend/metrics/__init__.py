"""Ranking metrics, baselines and temporal evaluation of recommenders.

Every figure of a recommender is reported next to plain baselines measured in the same run: for
products, global popularity, an organisation's own past purchases and random products of its
industry; for partners, the most linked organisations, partners of partners (past links), random
organisations of its industry and the simple co-presence rule.

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"organisation_id": ["A", "A"], "rank": [1, 2], "product_id": ["p", "q"]})
>>> rel = pd.DataFrame({"organisation_id": ["A"], "product_id": ["q"]})
>>> precision_at_k(rec, rel, k=2), recall_at_k(rec, rel, k=2)
(0.5, 1.0)
"""

from b2bclient.recommend.metrics._baselines import (
    copresence_partners,
    informed_random_pair_recall,
    partners_of_partners,
    past_purchases,
    popular_partners,
    popular_products,
    random_partners_in_industry,
    random_products_in_industry,
)
from b2bclient.recommend.metrics._ranking import (
    coverage,
    map_at_k,
    ndcg_at_k,
    pair_recall_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)
from b2bclient.recommend.metrics._temporal import evaluate_temporal, future_links, future_purchases

__all__ = [
    "copresence_partners",
    "coverage",
    "evaluate_temporal",
    "future_links",
    "future_purchases",
    "informed_random_pair_recall",
    "map_at_k",
    "ndcg_at_k",
    "pair_recall_at_k",
    "partners_of_partners",
    "past_purchases",
    "popular_partners",
    "popular_products",
    "precision_at_k",
    "random_partners_in_industry",
    "random_products_in_industry",
    "ranking_metrics",
    "recall_at_k",
]
