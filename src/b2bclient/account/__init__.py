"""The account view: each client's digital portrait, its health score, and the models behind them.

:func:`portrait` joins everything known about one organisation as of a point in time (who it is,
its holding, open deals, active projects, engagement, and one section per fitted model) into a
:class:`Portrait` that serialises to JSON against a published schema; :func:`portraits` does it for
many organisations, on pandas or Dask. :class:`Models` fits the models a portrait reads in one
call and saves with ``b2bclient.save``. Each model is a *part* (:class:`Part`): new models join the
portraits by being added to the bundle.

Examples
--------
>>> import b2bclient as bc
>>> base = bc.datasets.make_client_base(400, seed=1)
>>> models = bc.Models.fit(base, as_of="2025-01-01")
>>> p = bc.portrait(base, "O-000001", as_of="2025-01-01", models=models)
>>> p.names[5:]
('features', 'churn', 'value', 'health', 'cross_sell', 'partners', 'lifecycle', 'wallet')
>>> p["health"]["band"] in ("red", "yellow", "green")
True
"""

from b2bclient.account._batch import portrait, portraits
from b2bclient.account._bundle import Models, all_parts, default_parts, optional_parts
from b2bclient.account._health import MEASURES, HealthScore, Measure
from b2bclient.account._parts import ChurnRisk, CustomerValue, PeerFeatures
from b2bclient.account._parts_market import (
    CrossSellSuggestions,
    PartnerSuggestions,
    SegmentMembership,
    WalletShare,
)
from b2bclient.account._parts_projects import DealOutlook, ProcurementForecast
from b2bclient.account._protocol import Batch, Part, register_part_schema
from b2bclient.account._schema import Portrait

__all__ = [
    "MEASURES",
    "Batch",
    "ChurnRisk",
    "CrossSellSuggestions",
    "CustomerValue",
    "DealOutlook",
    "HealthScore",
    "Measure",
    "Models",
    "Part",
    "PartnerSuggestions",
    "PeerFeatures",
    "Portrait",
    "ProcurementForecast",
    "SegmentMembership",
    "WalletShare",
    "all_parts",
    "default_parts",
    "optional_parts",
    "portrait",
    "portraits",
    "register_part_schema",
]
