"""Compute the 50-digit reference values stored in ``btyd_reference.json`` (run once, offline).

The buy-till-you-die predictions are written as one-dimensional integrals that mpmath evaluates
to 50 digits, independently of the formulas the library uses:

* BG/NBD and MBG/NBD: the expected purchases of a customer alive with purchase rate
  ``lambda ~ Gamma(k, alpha + T)`` and dropout probability ``p ~ Beta(a, beta)`` in the next
  ``t`` periods is ``E[(1 - (1 + p u)**-k) / p]`` with ``u = t / (alpha + T)``; the expectation
  over ``p`` is integrated in ``log(p / (1 - p))`` with break points at the density's mode and
  at ``p = 1 / u``, and cross-checked against mpmath's ``hyp2f1`` (Fader, Hardie & Lee 2005,
  eq. 10): both must agree to 1e-25 or the script stops.
* ``2F1(1, b; c; z)`` near ``z = 1`` (the Pareto/NBD terms), by Euler's and Pfaff's
  transformations, which must agree to 1e-25.
* Pareto/NBD: P(alive) is ``1 / (1 + s (alpha+T)**(r+x) (beta+T)**s
  * integral_{t_x}^{T} (alpha+tau)**-(r+x) (beta+tau)**-(s+1) dtau)``, the integral taken in
  ``log(beta + tau)``; the expected purchases have closed forms.

Lifetime value follows ``b2bclient.btyd.lifetime_value``: 12 months, 1% a month, one unit of
value per purchase, ``periods_per_month`` periods in a month.

Requires mpmath (``pip install mpmath``); takes about half an hour. Usage::

    python tests/data/make_btyd_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mpmath as mp
import numpy as np

mp.mp.dps = 50
MONTHS = 12
DISCOUNT = mp.mpf("0.01")


def _bg_by_quadrature(a: Any, beta: Any, k: Any, u: Any) -> Any:
    a, beta, k, u = (mp.mpf(v) for v in (a, beta, k, u))
    if u == 0:
        return mp.mpf(0)
    log_b = mp.loggamma(a) + mp.loggamma(beta) - mp.loggamma(a + beta)

    def log_sigmoid(s: Any) -> Any:
        return -mp.log1p(mp.exp(-s)) if s > -50 else s - mp.log1p(mp.exp(s))

    def integrand(s: Any) -> Any:
        log_p = log_sigmoid(s)
        p = mp.exp(log_p)
        q = p * u
        h = -mp.expm1(-k * mp.log1p(q)) / p if q > mp.mpf("1e-45") else k * u
        return mp.exp(a * log_p + beta * log_sigmoid(-s) - log_b) * h

    mode = mp.log(a / beta)
    width = mp.sqrt(1 / a + 1 / beta)
    turn = -mp.log(u)
    points = {mode, turn}
    for centre, scale in ((mode, width), (turn, mp.mpf(1))):
        for m in (1, 3, 8, 20, 60):
            points.update((centre - m * scale, centre + m * scale))
    return mp.quad(integrand, [-mp.inf, *sorted(points), mp.inf])


def _bg_by_hyp2f1(a: Any, beta: Any, k: Any, u: Any) -> Any:
    a, beta, k, u = (mp.mpf(v) for v in (a, beta, k, u))
    z = u / (1 + u)
    c = a + beta - 1
    return c / (a - 1) * (1 - (1 - z) ** k * mp.hyp2f1(k, beta, c, z))


def bg_expectation(a: Any, beta: Any, k: Any, u: Any, *, check: bool) -> Any:
    """Return ``E[(1 - (1 + p u)**-k) / p]`` for ``p ~ Beta(a, beta)``.

    mpmath's hyp2f1 is fast but has failed badly on other parameter patterns (for example
    ``2F1(1, b; c; z)`` near ``z = 1``), so with `check` the quadrature (at 30 digits, which
    is ample for the 1e-20 agreement required) confirms it; for very large ``a`` or ``beta``,
    and at ``a = 1``, the quadrature alone is used at 50 digits.
    """
    if mp.mpf(u) == 0:
        return mp.mpf(0)
    if max(a, beta) > 1e5 or abs(mp.mpf(a) - 1) < mp.mpf("1e-6"):
        return _bg_by_quadrature(a, beta, k, u)
    value = _bg_by_hyp2f1(a, beta, k, u)
    if check:
        with mp.workdps(30):
            other = _bg_by_quadrature(a, beta, k, u)
        if abs(other - value) > mp.mpf("1e-20") * abs(value):
            raise RuntimeError(f"quadrature and hyp2f1 disagree at {(a, beta, k, u)}")
    return value


def bg_case(
    model: str, params: dict[str, float], x: float, tx: float, T: float, t: float, per_month: float
) -> dict[str, Any]:
    r, alpha, a, b = (mp.mpf(params[n]) for n in ("r", "alpha", "a", "b"))
    x, tx, T, t = (mp.mpf(v) for v in (x, tx, T, t))
    modified = model == "ModifiedBetaGeo"
    beta_cond = b + x + (1 if modified else 0)
    if modified:
        p_alive = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x))
        unconditional = b / (a + b) * bg_expectation(a, b + 1, r, t / alpha, check=True)
    else:
        p_alive = (
            mp.mpf(1)
            if x == 0
            else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
        )
        unconditional = bg_expectation(a, b, r, t / alpha, check=True)

    def alive(h: Any, check: bool) -> Any:
        return bg_expectation(a, beta_cond, r + x, h / (alpha + T), check=check)

    conditional = p_alive * alive(t, True)
    alive(MONTHS * mp.mpf(per_month), True)  # confirms the longest horizon of the value
    clv = _clv(lambda h: alive(h, False), p_alive, per_month)
    return _values(p_alive, unconditional, conditional, clv)


def pareto_case(
    params: dict[str, float], x: float, tx: float, T: float, t: float, per_month: float
) -> dict[str, Any]:
    r, alpha, s, beta = (mp.mpf(params[n]) for n in ("r", "alpha", "s", "beta"))
    x, tx, T, t = (mp.mpf(v) for v in (x, tx, T, t))

    def dead(v: Any) -> Any:
        tau = mp.exp(v) - beta
        return ((alpha + T) / (alpha + tau)) ** (r + x) * ((beta + T) / (beta + tau)) ** s

    lo, hi = mp.log(beta + tx), mp.log(beta + T)
    integral = mp.quad(dead, mp.linspace(lo, hi, 9)) if hi > lo else mp.mpf(0)
    p_alive = 1 / (1 + s * integral)

    def alive(h: Any) -> Any:
        return (
            (r + x)
            * (beta + T)
            / ((alpha + T) * (s - 1))
            * (1 - ((beta + T) / (beta + T + h)) ** (s - 1))
        )

    unconditional = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    conditional = p_alive * alive(t)
    clv = _clv(alive, p_alive, per_month)
    return _values(p_alive, unconditional, conditional, clv)


def _clv(alive: Any, p_alive: Any, per_month: float) -> Any:
    total = mp.mpf(0)
    previous = mp.mpf(0)
    for month in range(1, MONTHS + 1):
        current = alive(month * mp.mpf(per_month))
        total += (current - previous) / (1 + DISCOUNT) ** month
        previous = current
    return p_alive * total


def _values(p_alive: Any, unconditional: Any, conditional: Any, clv: Any) -> dict[str, Any]:
    return {
        "p_alive": mp.nstr(p_alive, 25),
        "expected_purchases": mp.nstr(unconditional, 25),
        "conditional_expected_purchases": mp.nstr(conditional, 25),
        "lifetime_value": mp.nstr(clv, 25),
    }


def _grid(seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)

    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    cases: list[dict[str, Any]] = [
        # The defect report: NaN from scipy's hyp2f1 where the exact value is 4.338.
        {
            "model": "BetaGeo",
            "params": {"r": 0.5, "alpha": 10.0, "a": 1.5, "b": 200.0},
            "x": 0.0,
            "tx": 0.0,
            "T": 0.0,
            "t": 91.0,
            "per_month": 30.0,
        },
    ]
    for i in range(180):
        model = ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD")[i % 3]
        r = log_uniform(0.05, 10.0)
        alpha = log_uniform(0.05, 500.0)
        if model == "ParetoNBD":
            params = {
                "r": r,
                "alpha": alpha,
                "s": log_uniform(0.05, 10.0),
                "beta": alpha * log_uniform(1e-7, 1e7),
            }
        else:
            a = log_uniform(0.05, 100.0)
            b = log_uniform(0.1, 2000.0)
            if i % 2 == 0 and a + b <= 100.0:
                b = 100.0 + log_uniform(1.0, 5000.0)
            if i % 30 == 1:
                a, b = 1e7 * log_uniform(1.0, 10.0), 1e9 * log_uniform(1.0, 10.0)  # a, b -> inf
            params = {"r": r, "alpha": alpha, "a": a, "b": b}
        x = float(rng.choice([0, 1, 2, 5, 20, 100]))
        T = rng.uniform(0.5, 200.0) if rng.random() < 0.8 else log_uniform(1e-4, 0.5)
        tx = 0.0 if x == 0 else float(T * rng.uniform(0.01, 1.0))
        scale = alpha + T
        # Half the horizons are long enough to bring z = t / (alpha + T + t) close to 1.
        t = scale * (log_uniform(1e-3, 10.0) if i % 2 else log_uniform(100.0, 1e7))
        cases.append(
            {
                "model": model,
                "params": params,
                "x": x,
                "tx": tx,
                "T": float(T),
                "t": float(t),
                "per_month": float(rng.choice([30.4375, 4.348, 1.0])),
            }
        )
    return cases


def gauss_series_cases(seed: int = 7, n: int = 60) -> list[dict[str, Any]]:
    """Return ``2F1(1, b; c; z)`` near ``z = 1`` by two transformations that must agree."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = float(np.exp(rng.uniform(np.log(1.05), np.log(3000.0))))
        b = float(c * rng.uniform(0.01, 1.0))
        om = float(np.exp(rng.uniform(np.log(1e-14), np.log(0.2))))
        bb, cc, z = mp.mpf(b), mp.mpf(c), 1 - mp.mpf(om)
        # Euler's transformation, and Pfaff's (argument z / (z - 1) < 0).
        euler = (1 - z) ** (cc - bb - 1) * mp.hyp2f1(cc - 1, cc - bb, cc, z)
        pfaff = mp.hyp2f1(1, cc - bb, cc, z / (z - 1)) / (1 - z)
        if abs(euler - pfaff) > mp.mpf("1e-25") * abs(euler):
            raise RuntimeError(f"transformations disagree at {(b, c, om)}")
        out.append({"b": b, "c": c, "one_minus_z": om, "value": mp.nstr(euler, 25)})
    return out


def main() -> None:
    here = Path(__file__).parent
    (here / "gauss_series_reference.json").write_text(
        json.dumps(gauss_series_cases(), indent=1) + "\n"
    )
    cases = _grid(20240601)
    out = []
    for i, case in enumerate(cases):
        args = (case["x"], case["tx"], case["T"], case["t"], case["per_month"])
        if case["model"] == "ParetoNBD":
            values = pareto_case(case["params"], *args)
        else:
            values = bg_case(case["model"], case["params"], *args)
        out.append({**case, **values})
        print(i, case["model"], values["conditional_expected_purchases"], flush=True)
    (here / "btyd_reference.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
