"""From a feature frame to what Segmenter clusters: the profile, or the preprocessed features.

With the built-in feature columns, every organisation becomes a *profile* (``_representation``):
standardised rates and shares with their measurement variances, and values shrunk by them for the
distance-based methods. Any other frame goes through
:class:`~b2bclient.features.FeaturePreprocessor`. Categorical columns become integer codes for
the methods that take them (the mixture: the industry; k-prototypes: every category).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.features._preprocess import FeaturePreprocessor
from b2bclient.segment._methods import Design
from b2bclient.segment._representation import available_dimensions, measure, shrink

__all__ = ["design_of", "fit_design"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_OWNER = "Segmenter"
#: The profile representation needs at least this many of its dimensions.
_MIN_DIMENSIONS = 3
#: Categorical columns the mixture models beside the profile (a multinomial per segment). None:
#: the industry costs the BIC nine parameters per segment for a weak signal (the generator tilts a
#: few industries by 1.2 to 2.2 per segment), so with it the BIC chose 2 segments on 2 000
#: organisations; without it 5, at the same agreement with the planted segments (docs/segment.md).
#: Mixtures saved with categorical tables still load and predict with them.
_MIXTURE_CATEGORIES: tuple[str, ...] = ()


def fit_design(seg: Any, frame: pd.DataFrame) -> Design:
    """Choose the representation of `frame` for `seg`, record it on `seg`, return the design.

    Sets ``representation_``, ``dimensions_``, the categorical columns and levels, and either
    ``profile_mean_``, ``profile_scale_`` and ``profile_spread_`` or ``preprocessor_``.
    """
    dims = available_dimensions(frame.columns) if seg.representation != "features" else ()
    if seg.representation == "profile" and len(dims) < _MIN_DIMENSIONS:
        from b2bclient.segment._representation import DIMENSIONS, EXPOSURE_COLUMNS

        needed = sorted({c for d in DIMENSIONS for c in d.columns} | {EXPOSURE_COLUMNS[0]})
        missing = [c for c in needed if c not in frame.columns]
        raise InvalidParameterError(
            f"representation='profile' needs the columns of build_features it reads; X "
            f"passed to {_OWNER}.fit lacks {missing[:10]}. Build X with the default "
            f"extractors, or use representation='features'."
        )
    seg.categorical_columns_ = []
    seg.categorical_levels_ = []
    if len(dims) >= _MIN_DIMENSIONS:
        seg.representation_ = "profile"
        seg.dimensions_ = [d.name for d in dims]
        m = measure(frame, dims)
        values = m.values.to_numpy()
        variances = m.variances.to_numpy()
        observed = np.isfinite(variances)
        masked = np.where(observed, values, np.nan)
        count = observed.sum(axis=0)
        unseen = [d for d, c in zip(seg.dimensions_, count, strict=True) if c < 2]
        if unseen:
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit observes the profile dimensions {unseen} for "
                f"fewer than 2 organisations (no purchases, no activity): use "
                f"representation='features', or more organisations."
            )
        mean = np.nanmean(masked, axis=0)
        scale = np.nanstd(masked, axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        seg.profile_mean_ = mean
        seg.profile_scale_ = scale
        z = (values - mean) / scale
        zv = variances / scale**2
        # Spread of the true values: observed variance minus the mean measurement variance.
        noise = np.nanmean(np.where(observed, zv, np.nan), axis=0)
        spread2 = np.nanvar(np.where(observed, z, np.nan), axis=0) - noise
        seg.profile_spread_ = np.sqrt(np.maximum(spread2, 0.05))
        if not (seg.profile_spread_ > 0).any() or np.all(np.nanstd(masked, axis=0) == 0):
            raise InvalidParameterError(
                f"X passed to {_OWNER}.fit has only constant features in the profile: "
                f"every organisation looks the same, so there is nothing to segment."
            )
        wanted = _categorical_wanted(seg, frame, profile=True)
        _set_categories(seg, frame, wanted)
        return _profile_design(seg, frame, z, zv)
    seg.representation_ = "features"
    passthrough = seg.method == "kprototypes"
    pre = FeaturePreprocessor(categorical="passthrough" if passthrough else "onehot", extractors=[])
    pre.set_output(transform="pandas")
    try:
        matrix = pre.fit_transform(frame)
    except InvalidParameterError as exc:
        raise InvalidParameterError(
            f"X passed to {_OWNER}.fit cannot be turned into features: {exc}"
        ) from exc
    seg.preprocessor_ = pre
    categorical = [c for c in matrix.columns if isinstance(matrix[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in matrix.columns if c not in categorical]
    if not numeric:
        raise InvalidParameterError(
            f"X passed to {_OWNER}.fit has no numeric feature left after preprocessing "
            f"(only constant or categorical columns): there is nothing to measure distances "
            f"on. Use method='kprototypes' with numeric columns, or add features."
        )
    seg.dimensions_ = numeric
    _set_categories(seg, matrix, categorical)
    return _features_design(seg, matrix)


def _categorical_wanted(seg: Any, frame: pd.DataFrame, *, profile: bool) -> list[str]:
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if seg.method == "kprototypes":
        return cats
    if seg.method == "gmm" and profile:
        return [c for c in _MIXTURE_CATEGORIES if c in cats]
    return []


def _set_categories(seg: Any, frame: pd.DataFrame, columns: list[str]) -> None:
    seg.categorical_columns_ = list(columns)
    seg.categorical_levels_ = []
    for c in columns:
        s = frame[c]
        present = set(s.dropna().unique())
        seg.categorical_levels_.append([v for v in s.cat.categories if v in present])


def _codes(seg: Any, frame: pd.DataFrame) -> tuple[Ints, ...]:
    out = []
    for column, levels in zip(seg.categorical_columns_, seg.categorical_levels_, strict=True):
        lookup = {v: i for i, v in enumerate(levels)}
        values = frame[column].astype(object)
        out.append(np.asarray([lookup.get(v, -1) for v in values.to_numpy()], dtype=np.int64))
    return tuple(out)


def _profile_design(seg: Any, frame: pd.DataFrame, z: Floats, zv: Floats) -> Design:
    zero = np.zeros(z.shape[1])
    return Design(
        values=z,
        variances=zv,
        shrunk=shrink(z, zv, zero, seg.profile_spread_),
        codes=_codes(seg, frame),
        levels=tuple(len(v) for v in seg.categorical_levels_),
    )


def _features_design(seg: Any, matrix: pd.DataFrame) -> Design:
    numeric = matrix[seg.dimensions_].to_numpy(dtype=np.float64)
    return Design(
        values=numeric,
        variances=np.full_like(numeric, 1e-6),
        shrunk=numeric,
        codes=_codes(seg, matrix),
        levels=tuple(len(v) for v in seg.categorical_levels_),
    )


def design_of(seg: Any, frame: pd.DataFrame) -> Design:
    """The design of `frame` in the representation `seg` was fitted with."""
    if seg.representation_ == "profile":
        dims = [d for d in available_dimensions(frame.columns) if d.name in seg.dimensions_]
        m = measure(frame, dims)
        z = (m.values.to_numpy() - seg.profile_mean_) / seg.profile_scale_
        zv = m.variances.to_numpy() / seg.profile_scale_**2
        return _profile_design(seg, frame, z, zv)
    return _features_design(seg, seg.preprocessor_.transform(frame))
