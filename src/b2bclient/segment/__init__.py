"""Segments of the client base: Segmenter, segment profiles, stability and plots.

:class:`Segmenter` clusters organisations from ``build_features`` output (firmographics and
behaviour, numeric and categorical) with a Gaussian mixture, k-means, k-prototypes or HDBSCAN, on
a profile of rates per active year weighted by how reliably each is measured;
:meth:`Segmenter.profile` describes each segment in plain words and :meth:`Segmenter.stability`
says whether it comes back on resampled data. The plots need the ``plot`` extra.

Examples
--------
>>> import b2bclient as bc
>>> bc.Segmenter is bc.segment.Segmenter
True
"""

from b2bclient.segment._plots import (
    plot_segment_embedding,
    plot_segment_profiles,
    plot_segment_sizes,
)
from b2bclient.segment._segmenter import METHODS, Segmenter

__all__ = [
    "METHODS",
    "Segmenter",
    "plot_segment_embedding",
    "plot_segment_profiles",
    "plot_segment_sizes",
]
