"""Recommendations: cross-sell of products and services, and client-to-client partner matching.

:class:`CrossSell` recommends the products and services an organisation is likely to buy next,
blending item-based collaborative filtering with context (industry and segment peers, the stage
of its open projects, services attached to the goods it buys). :class:`PartnerMatcher` proposes
client organisations that could do business with each other (supplier, buyer, co-participant
of related projects), each with its reasons. :mod:`b2bclient.recommend.metrics` holds the ranking
metrics, the baselines and :func:`~b2bclient.recommend.metrics.evaluate_temporal`.

Examples
--------
>>> from b2bclient.datasets import make_client_base
>>> from b2bclient.recommend import CrossSell
>>> base = make_client_base(300, seed=0)
>>> CrossSell().fit(base, as_of="2024-07-01").recommend(["O-000001"], k=2)["rank"].tolist()
[1, 2]
"""

from b2bclient.recommend import metrics
from b2bclient.recommend._common import UnknownIdWarning
from b2bclient.recommend._crosssell import CrossSell
from b2bclient.recommend._matcher import PartnerMatcher

__all__ = ["CrossSell", "PartnerMatcher", "UnknownIdWarning", "metrics"]
