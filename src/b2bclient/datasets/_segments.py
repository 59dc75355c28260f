"""Latent segments of the synthetic client base and the traits they drive.

Each organisation belongs to one segment and draws a vector of latent traits from a Gaussian centred
on its segment's mean; the within-segment spread grows with ``difficulty`` so that segments overlap.
The traits then drive every observable behaviour (size, purchase rate, order value, channel mix,
service and project propensity, portal use, support load, contracts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "BACKGROUND_CHURN",
    "CHANNEL_WEIGHTS",
    "CONTRACT_KIND_WEIGHTS",
    "NEW_CLIENT_CHURN",
    "SEGMENTS",
    "SEGMENT_WEIGHTS",
    "TRAITS",
    "TRAIT_MEANS",
    "TRAIT_SDS",
    "bayes_segments",
    "noise_scale",
    "segment_parameters",
    "signal_scale",
]

SEGMENTS: tuple[str, ...] = (
    "key_accounts",
    "project_builders",
    "portal_self_service",
    "occasional_buyers",
    "service_heavy",
)
SEGMENT_WEIGHTS = np.array([0.10, 0.18, 0.27, 0.30, 0.15])

TRAITS: tuple[str, ...] = (
    "log_employees",
    "log_order_rate",
    "log_order_value",
    "portal_logit",
    "service_logit",
    "log_project_rate",
    "log_contact_rate",
    "log_ticket_rate",
    "contract_logit",
)
# Rows follow SEGMENTS, columns follow TRAITS. Rates are per year; values in currency units.
TRAIT_MEANS = np.array(
    [
        [5.54, 1.89, 9.02, -0.26, -0.83, -1.61, 2.45, 0.74, 1.09],
        [4.50, 0.85, 9.35, -1.15, -0.42, -0.72, 2.05, 0.26, 0.04],
        [3.77, 1.57, 7.57, 1.27, -1.63, -3.30, 1.00, 0.10, -0.92],
        [3.45, 0.36, 7.98, -0.50, -1.39, -3.30, 0.92, -0.55, -1.73],
        [4.26, 1.01, 8.54, -0.34, 0.54, -2.01, 1.89, 0.82, 0.29],
    ]
)
#: Within-segment spread of each trait at ``difficulty=0.5`` (scaled by :func:`noise_scale`).
TRAIT_SDS = np.array([1.22, 0.61, 0.68, 1.22, 0.94, 0.94, 0.61, 0.68, 1.35])

#: Non-portal channel mix of ordinary deals per segment: sales_rep, tender, edi, other.
CHANNEL_WEIGHTS = np.array(
    [
        [0.45, 0.06, 0.44, 0.05],
        [0.55, 0.35, 0.04, 0.06],
        [0.65, 0.04, 0.12, 0.19],
        [0.72, 0.10, 0.02, 0.16],
        [0.66, 0.05, 0.17, 0.12],
    ]
)
#: Contract kind mix per segment over CONTRACT_KINDS (framework, supply, service, maintenance,
#: credit, other).
CONTRACT_KIND_WEIGHTS = np.array(
    [
        [0.50, 0.30, 0.08, 0.06, 0.04, 0.02],
        [0.45, 0.30, 0.07, 0.08, 0.08, 0.02],
        [0.15, 0.65, 0.05, 0.05, 0.05, 0.05],
        [0.10, 0.70, 0.05, 0.05, 0.05, 0.05],
        [0.10, 0.20, 0.40, 0.25, 0.03, 0.02],
    ]
)
#: Yearly churn rate before the landmark (low background churn), per segment.
BACKGROUND_CHURN = np.array([0.02, 0.04, 0.05, 0.08, 0.04])
#: Yearly churn rate of organisations that become clients after the landmark, per segment.
NEW_CLIENT_CHURN = np.array([0.08, 0.15, 0.20, 0.30, 0.15])


def noise_scale(difficulty: float) -> float:
    """Return the factor on the within-segment spread of the traits (1.0 at ``difficulty=0.5``)."""
    return 0.55 + 0.9 * difficulty


def signal_scale(difficulty: float) -> float:
    """Return the factor on planted effects: ``2 ** (1 - 2 * difficulty)``, 1.0 at 0.5."""
    return float(2.0 ** (1.0 - 2.0 * difficulty))


def segment_parameters(difficulty: float) -> pd.DataFrame:
    """Return the Gaussian of each segment: weight, and mean and spread of every trait.

    Parameters
    ----------
    difficulty : float
        The generator's difficulty in [0, 1].

    Returns
    -------
    pandas.DataFrame
        Indexed by segment; column ``weight``, per trait ``<trait>__mean`` and ``<trait>__sd``, and
        the yearly churn rates ``background_churn`` (before the landmark) and
        ``new_client_churn`` (of clients that arrive after it).
    """
    sd = TRAIT_SDS * noise_scale(difficulty)
    data: dict[str, Any] = {"weight": SEGMENT_WEIGHTS}
    for j, trait in enumerate(TRAITS):
        data[f"{trait}__mean"] = TRAIT_MEANS[:, j]
        data[f"{trait}__sd"] = np.full(len(SEGMENTS), sd[j])
    data["background_churn"] = BACKGROUND_CHURN
    data["new_client_churn"] = NEW_CLIENT_CHURN
    return pd.DataFrame(data, index=pd.Index(SEGMENTS, name="segment"))


def bayes_segments(traits: npt.NDArray[np.float64], difficulty: float) -> npt.NDArray[np.int64]:
    """Return the Bayes-optimal segment code of each row of latent `traits`.

    The classifier knows the generator's mixture (weights, means, spreads) and sees the latent
    traits themselves, so its agreement with the true segments is the best any method can reach.
    """
    sd = TRAIT_SDS * noise_scale(difficulty)
    z = (traits[:, None, :] - TRAIT_MEANS[None, :, :]) / sd
    log_post = np.log(SEGMENT_WEIGHTS)[None, :] - 0.5 * (z**2).sum(axis=2)
    return np.asarray(log_post.argmax(axis=1), dtype=np.int64)
