"""Built-in extractors, registered in the order their columns appear in the default feature set."""

from b2bclient.features._extractors.contracts import Contracts
from b2bclient.features._extractors.engagement import Engagement
from b2bclient.features._extractors.firmographics import Firmographics
from b2bclient.features._extractors.pipeline import Pipeline
from b2bclient.features._extractors.product_mix import ProductMix
from b2bclient.features._extractors.projects import Projects
from b2bclient.features._extractors.purchasing import Purchasing
from b2bclient.features._extractors.relationships import Relationships
from b2bclient.features._extractors.services import Services
from b2bclient.features._registry import register_extractor

__all__ = [
    "BUILTIN_EXTRACTORS",
    "Contracts",
    "Engagement",
    "Firmographics",
    "Pipeline",
    "ProductMix",
    "Projects",
    "Purchasing",
    "Relationships",
    "Services",
]

#: The built-in extractor classes, in the order of the default feature set.
BUILTIN_EXTRACTORS = (
    Firmographics,
    Purchasing,
    Pipeline,
    ProductMix,
    Services,
    Projects,
    Engagement,
    Contracts,
    Relationships,
)

for _cls in BUILTIN_EXTRACTORS:
    register_extractor(_cls)
