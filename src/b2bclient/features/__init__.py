"""Point-in-time features: one row per organisation, the numeric side of its digital portrait.

Extractors declare the tables they read and the columns they write and compute from rows known
before ``as_of`` only; :func:`build_features` runs them on a client base cut once at ``as_of``
(with pandas or on a Dask cluster) and :func:`training_frame` stacks them at several cutoffs with a
label observed after each; :func:`preprocessor` turns a feature frame into the model matrix
every estimator can take.

Examples
--------
>>> import b2bclient.features as bf
>>> bf.list_extractors()
('firmographics', 'purchasing', 'pipeline', 'product_mix', 'services', 'projects', 'engagement', 'contracts', 'relationships')
"""

from b2bclient.features._build import build_features, describe_features
from b2bclient.features._context import FeatureTables
from b2bclient.features._extractors import (
    Contracts,
    Engagement,
    Firmographics,
    Pipeline,
    ProductMix,
    Projects,
    Purchasing,
    Relationships,
    Services,
)
from b2bclient.features._labels import NextPurchase, NoActivity, ProcurementReached, WonDeal
from b2bclient.features._preprocess import FeaturePreprocessor, preprocessor
from b2bclient.features._protocol import Extractor, ExtractorTags, Label
from b2bclient.features._registry import (
    ENTRY_POINT_GROUP,
    get_extractor,
    list_extractors,
    load_plugins,
    register_extractor,
    unregister_extractor,
)
from b2bclient.features._training import training_frame

__all__ = [
    "ENTRY_POINT_GROUP",
    "Contracts",
    "Engagement",
    "Extractor",
    "ExtractorTags",
    "FeaturePreprocessor",
    "FeatureTables",
    "Firmographics",
    "Label",
    "NextPurchase",
    "NoActivity",
    "Pipeline",
    "ProcurementReached",
    "ProductMix",
    "Projects",
    "Purchasing",
    "Relationships",
    "Services",
    "WonDeal",
    "build_features",
    "describe_features",
    "get_extractor",
    "list_extractors",
    "load_plugins",
    "preprocessor",
    "register_extractor",
    "training_frame",
    "unregister_extractor",
]
