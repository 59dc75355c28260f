"""Harrell's and Uno's concordance indices in O(n log n)."""

from __future__ import annotations

from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn.metrics._km import censoring_at_events, censoring_survival
from b2bclient.churn.metrics._validation import as_scores, as_survival, as_time_point

__all__ = ["concordance_index_harrell", "concordance_index_uno"]


def _later_lower_counts(
    rank: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """For each position p, count positions q > p with ``rank[q] < rank[p]`` and ``== rank[p]``.

    A bottom-up merge count: at each level the array is cut into blocks of twice the current
    size, each element of a block's left half is compared with its right half through a sort
    of the block by rank. The sort order of the previous level makes each block two sorted
    runs, which the stable (tim)sort merges in linear time, so the whole count is
    O(n log n) and vectorised.
    """
    n = len(rank)
    width = int(rank.max()) + 1 if n else 1
    # Everything is carried along in the current sort order (the permutation applied at each
    # level merges two runs, so these gathers are nearly sequential) and put back at the end.
    position = np.arange(n, dtype=np.int64)
    current = rank.astype(np.int64)
    acc_less = np.zeros(n, dtype=np.int64)
    acc_equal = np.zeros(n, dtype=np.int64)
    size = 1
    while size < n:
        block = position // (2 * size)
        key = block * width + current
        step = np.argsort(key, kind="stable")
        position = position[step]
        current = current[step]
        key = key[step]
        block = block[step]
        acc_less = acc_less[step]
        acc_equal = acc_equal[step]
        is_right = (position // size) & 1
        right_before = np.cumsum(is_right) - is_right
        total_right = right_before[-1] + is_right[-1]

        new_key = np.empty(n, dtype=bool)
        new_key[0] = True
        np.not_equal(key[1:], key[:-1], out=new_key[1:])
        key_id = np.cumsum(new_key) - 1
        right_at_key_start = right_before[new_key]
        right_at_key_end = np.append(right_at_key_start[1:], total_right)

        new_block = np.empty(n, dtype=bool)
        new_block[0] = True
        np.not_equal(block[1:], block[:-1], out=new_block[1:])
        right_at_block_start = right_before[new_block][np.cumsum(new_block) - 1]

        is_left = 1 - is_right
        start_of_key = right_at_key_start[key_id]
        acc_less += (start_of_key - right_at_block_start) * is_left
        acc_equal += (right_at_key_end[key_id] - start_of_key) * is_left
        size *= 2
    less = np.empty(n, dtype=np.int64)
    equal = np.empty(n, dtype=np.int64)
    less[position] = acc_less
    equal[position] = acc_equal
    return less, equal


def _pair_statistics(
    time: np.ndarray[Any, Any], event: np.ndarray[Any, Any], risk: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per subject with an event: concordant, tied-in-risk and comparable pair counts.

    Subject i (with an event) is compared with every j that left later (``T_j > T_i``) or was
    censored at the same time (``T_j == T_i`` and no event); two events at the same time are
    not comparable. Concordant means ``risk_i > risk_j``.

    Returns the original indices of the subjects with an event and their three counts.
    """
    n = len(time)
    _, rank = np.unique(risk, return_inverse=True)
    rank = rank.astype(np.int64)
    # Time ascending, events before censorings at the same time, then risk descending: pairs
    # inside one (time, event) group then never have the later one at a higher risk.
    order = np.lexsort((-rank, ~event, time))
    t, e, r = time[order], event[order], rank[order]
    less, equal = _later_lower_counts(r)

    position = np.arange(n)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = (t[1:] != t[:-1]) | (e[1:] != e[:-1])
    group_end = np.append(np.flatnonzero(new_group)[1:], n)[np.cumsum(new_group) - 1]
    new_tie = new_group.copy()
    new_tie[1:] |= r[1:] != r[:-1]
    tie_end = np.append(np.flatnonzero(new_tie)[1:], n)[np.cumsum(new_tie) - 1]
    after_in_group = group_end - position - 1
    tied_after = tie_end - position - 1
    # Remove the pairs inside a group of events at one time: they are not comparable.
    less = less - (after_in_group - tied_after)
    equal = equal - tied_after
    comparable = n - group_end
    return order[e], less[e], equal[e], comparable[e]


def concordance_index_harrell(duration: Any, event: Any, risk: Any) -> float:
    """Compute Harrell's concordance index of risk scores against right-censored durations.

    Among comparable pairs, the share where the subject who churned first had the higher risk.
    A pair (i, j) is comparable when i had an event and j left later (``T_j > T_i``), or j was
    censored at the same time as i's event (a censoring at t is taken to follow an event at t).
    Two events at the same time are not comparable. Pairs tied in risk count 1/2. This is the
    convention of ``lifelines.utils.concordance_index`` (which takes scores where higher means
    longer survival: pass ``-risk`` to it). Runs in O(n log n).

    Parameters
    ----------
    duration : array-like of shape (n,)
        Time to churn or censoring (numbers, or timedeltas).
    event : array-like of shape (n,)
        True (1) when churn was observed, False (0) when censored.
    risk : array-like of shape (n,)
        Predicted risk; higher means earlier churn.

    Returns
    -------
    float
        Concordance in [0, 1]; 0.5 is random ranking.

    Raises
    ------
    InvalidParameterError
        For negative or missing durations, non-binary events, non-finite risks, mismatched
        lengths, or data without a comparable pair (for example all censored).

    Examples
    --------
    >>> concordance_index_harrell([1, 2, 3, 4], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1])
    0.8
    """
    owner = "concordance_index_harrell"
    time, observed = as_survival(duration, event, owner)
    scores = as_scores(risk, len(time), "risk", owner)
    _check_has_events(observed, "event", owner)
    _, concordant, tied, comparable = _pair_statistics(time, observed, scores)
    total = int(comparable.sum())
    if total == 0:
        raise InvalidParameterError(
            f"{owner} found no comparable pair: every subject with an event left at the same "
            "time as, or after, all others. Give data where some subjects outlast an event."
        )
    return float((int(concordant.sum()) + 0.5 * int(tied.sum())) / total)


def _check_has_events(observed: np.ndarray[Any, Any], name: str, owner: str) -> None:
    if not observed.any():
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} has no event: every subject is censored, so "
            "the metric is undefined. Evaluate on data where some churn was observed."
        )


def concordance_index_uno(
    duration_train: Any,
    event_train: Any,
    duration_test: Any,
    event_test: Any,
    risk: Any,
    tau: Any = None,
) -> float:
    """Compute Uno's IPCW concordance index, consistent under censoring unrelated to risk.

    Each comparable pair (defined as for :func:`concordance_index_harrell`) whose first subject
    i had an event before `tau` is weighted by ``1 / G(T_i)**2``, where ``G`` is the Kaplan-Meier
    estimate of the censoring survival function from the training data (events taken to precede
    censorings at tied times; ``G`` is evaluated right-continuously at ``T_i``). Uno et al.
    (2011), "On the C-statistics for evaluating overall adequacy of risk prediction procedures
    with censored survival data", Statistics in Medicine 30(10).

    Parameters
    ----------
    duration_train, event_train : array-like of shape (n_train,)
        Training durations and events, used only to estimate the censoring distribution.
    duration_test, event_test : array-like of shape (n,)
        Durations and events of the evaluated subjects.
    risk : array-like of shape (n,)
        Predicted risk of the evaluated subjects; higher means earlier churn.
    tau : float or duration, optional
        Truncation time: only events before `tau` form pairs. Must not exceed the training
        follow-up. By default all events are used, which then must lie within it.

    Returns
    -------
    float
        Concordance in [0, 1].

    Raises
    ------
    InvalidParameterError
        For invalid inputs, no event before `tau`, test events beyond the training follow-up,
        or a censoring survival of zero at an event time.

    Examples
    --------
    >>> train_t, train_e = [1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0]
    >>> round(concordance_index_uno(train_t, train_e, [1, 2, 3, 4], [1, 1, 0, 1],
    ...                             [0.9, 0.5, 0.7, 0.1]), 4)
    0.7449
    """
    owner = "concordance_index_uno"
    t_train, e_train = as_survival(duration_train, event_train, owner, "_train")
    time, observed = as_survival(duration_test, event_test, owner, "_test")
    scores = as_scores(risk, len(time), "risk", owner)
    limit = np.inf if tau is None else as_time_point(tau, "tau", owner)
    counted = observed & (time < limit)
    if not counted.any():
        raise InvalidParameterError(
            f"The 'event_test' parameter of {owner} has no event"
            f"{'' if tau is None else f' before tau={tau!r}'}, so the metric is undefined. "
            "Evaluate on data where churn was observed, or raise tau."
        )
    censoring = censoring_survival(t_train, e_train)
    event_times = time[counted]
    follow_up = censoring.last_time
    if tau is not None and limit > follow_up:
        raise InvalidParameterError(
            f"The 'tau' parameter of {owner} is {tau!r}, beyond the training follow-up "
            f"{follow_up:g}; the censoring distribution is unknown there. Use tau <= "
            f"{follow_up:g}."
        )
    if event_times.max() > follow_up:
        raise InvalidParameterError(
            f"{owner} needs the censoring distribution at every test event time, but test "
            f"events occur up to {event_times.max():g}, beyond the training follow-up "
            f"{follow_up:g}. Pass tau <= {follow_up:g}."
        )
    g = censoring_at_events(censoring, event_times, owner, "Pass a smaller tau.")
    weight = np.zeros(len(time))
    weight[counted] = 1.0 / g**2
    index, concordant, tied, comparable = _pair_statistics(time, observed, scores)
    w = weight[index]
    denominator = float(np.dot(w, comparable))
    if denominator == 0:
        raise InvalidParameterError(
            f"{owner} found no comparable pair with an event before tau; give data where some "
            "subjects outlast an event."
        )
    return float(np.dot(w, concordant + 0.5 * tied) / denominator)
