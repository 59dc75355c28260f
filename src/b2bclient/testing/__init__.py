"""The common test suite, public so that plug-in authors run the same checks as the library.

Examples
--------
>>> from b2bclient.features import get_extractor
>>> from b2bclient.testing import check_extractor
>>> check_extractor(get_extractor("pipeline"))
"""

from b2bclient.testing._examples import EXAMPLE_AS_OF, example_base
from b2bclient.testing._extractor_checks import check_extractor, extractor_checks
from b2bclient.testing._future import with_future_rows

__all__ = [
    "EXAMPLE_AS_OF",
    "check_extractor",
    "example_base",
    "extractor_checks",
    "with_future_rows",
]
