"""scikit-learn's common estimator checks on Segmenter, for every method.

The checks use small numeric arrays, so Segmenter clusters them with the "features"
representation (the preprocessor's matrix). ``max_segments=4`` and ``n_init=1`` only keep the
suite fast: every code path of ``n_segments="auto"`` still runs. No check is skipped or expected
to fail here; scikit-learn itself skips ``check_array_api_input`` unless ``SCIPY_ARRAY_API`` is
set, and it does not apply: Segmenter computes with NumPy and does not declare array API support.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from b2bclient.segment import Segmenter


@parametrize_with_checks(
    [
        Segmenter(max_segments=4, n_init=1),
        Segmenter(method="kmeans", max_segments=4, n_init=1),
        Segmenter(method="kprototypes", max_segments=4, n_init=1),
        Segmenter(method="hdbscan"),
        Segmenter(n_segments=3, n_init=1),
    ]
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
