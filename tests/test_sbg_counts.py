"""fit_sbg_counts: the sBG fitted to counts, and its warm start (the forecast's bootstrap refits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpilib import ModelFitError
from kpilib.metrics.sbg import fit_sbg, fit_sbg_counts, fit_sbg_counts_batch, fit_sbg_lifetimes

HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]  # Fader & Hardie (2007), 'high end' segment


def test_counts_give_the_fit_of_the_survivors_they_tally():
    lost = -np.diff(HIGH_END)
    censored = np.zeros(len(HIGH_END))
    censored[-1] = HIGH_END[-1]
    a, b = fit_sbg_counts(lost, censored), fit_sbg(HIGH_END)
    assert (a.alpha, a.beta, a.log_likelihood) == (b.alpha, b.beta, b.log_likelihood)
    assert round(a.alpha, 3) == 0.668 and round(a.beta, 3) == 3.806


@pytest.mark.parametrize("seed", range(8))
def test_a_warm_start_finds_the_maximum_of_the_cold_starts(seed):
    """Bootstrap replicates of a heterogeneous and a homogeneous book, refitted from the point fit and
    from the four cold starts: the same maximum (to the optimiser's tolerance)."""
    rng = np.random.default_rng(seed)
    theta = np.concatenate([rng.beta(0.7, 6.0, 600), np.full(400, 0.03)])  # mixed, then flat churn
    life = rng.geometric(theta)
    periods, churned = np.minimum(life, 24), life <= 24
    point = fit_sbg_lifetimes(pd.DataFrame({"periods": periods, "churned": churned}))
    pick = rng.integers(0, len(periods), len(periods))
    lost = np.bincount(periods[pick][churned[pick]] - 1, minlength=24).astype(float)
    censored = np.bincount(periods[pick][~churned[pick]] - 1, minlength=25).astype(float)
    warm = fit_sbg_counts(lost, censored, start=(point.alpha, point.beta))
    cold = fit_sbg_counts(lost, censored)
    assert warm.converged and warm.log_likelihood == pytest.approx(cold.log_likelihood, rel=1e-9, abs=1e-6)
    assert warm.mean_churn == pytest.approx(cold.mean_churn, rel=1e-4)


def test_counts_are_checked():
    with pytest.raises(ModelFitError, match="one count more"):
        fit_sbg_counts([1, 2], [3, 4])
    with pytest.raises(ModelFitError, match="negative"):
        fit_sbg_counts([1, -2], [3, 4, 5])
    with pytest.raises(ModelFitError, match="no customer churned"):
        fit_sbg_counts([0, 0], [3, 4, 5])


def _resamples(seed: int, rows: int, homogeneous: bool):
    """``rows`` bootstrap replicates of a heterogeneous book (or a flat 3 % churn one) as counts, and
    the point fit's (alpha, beta)."""
    rng = np.random.default_rng(seed)
    theta = np.full(1000, 0.03) if homogeneous else np.concatenate([rng.beta(0.7, 6.0, 600), np.full(400, 0.03)])
    life = rng.geometric(theta)
    periods, churned = np.minimum(life, 24), life <= 24
    point = fit_sbg_lifetimes(pd.DataFrame({"periods": periods, "churned": churned}))
    lost, censored = np.zeros((rows, 24)), np.zeros((rows, 25))
    for r in range(rows):
        pick = rng.integers(0, len(periods), len(periods))
        lost[r] = np.bincount(periods[pick][churned[pick]] - 1, minlength=24)
        censored[r] = np.bincount(periods[pick][~churned[pick]] - 1, minlength=25)
    return lost, censored, (point.alpha, point.beta)


@pytest.mark.parametrize("homogeneous", [False, True])
def test_the_batch_finds_each_rows_maximum(homogeneous):
    """Every row of the batch reaches the likelihood the scalar fit reaches, to the optimiser's tolerance
    (the parameters of a flat likelihood may differ a little; the maximum may not)."""
    lost, censored, start = _resamples(3, 40, homogeneous)
    alpha, beta, ok = fit_sbg_counts_batch(lost, censored, start)
    assert ok.all()
    at_edge = 0
    for r in range(len(lost)):
        one = fit_sbg_counts(lost[r], censored[r], start=start)
        assert _log_likelihood(alpha[r], beta[r], lost[r], censored[r]) >= one.log_likelihood - 1e-6
        assert alpha[r] / (alpha[r] + beta[r]) == pytest.approx(one.mean_churn, rel=1e-2)
        at_edge += 1 / (alpha[r] + beta[r] + 1) < 1e-3
    assert at_edge >= (len(lost) // 4 if homogeneous else 0)  # flat churn: often the homogeneous edge


def _log_likelihood(a: float, b: float, lost: np.ndarray, censored: np.ndarray) -> float:
    """The sBG log-likelihood written afresh, by Fader & Hardie's recursion (stable for a huge a + b):
    S(t) = S(t - 1) (b + t - 1) / (a + b + t - 1) and P(T = t) = S(t - 1) a / (a + b + t - 1)."""
    log_s, ll = 0.0, 0.0
    for t in range(1, len(censored)):
        ll += censored[t - 1] * log_s + lost[t - 1] * (log_s + np.log(a / (a + b + t - 1)))
        log_s += np.log((b + t - 1) / (a + b + t - 1))
    return float(ll + censored[-1] * log_s)


def test_the_batch_flags_rows_it_cannot_fit_and_checks_its_counts():
    lost, censored, start = _resamples(5, 3, False)
    lost[1] = 0  # nobody churned: beta is unbounded
    alpha, beta, ok = fit_sbg_counts_batch(lost, censored, start)
    assert ok.tolist() == [True, False, True] and np.isnan(alpha[1]) and np.isnan(beta[1])
    with pytest.raises(ModelFitError, match="one count more"):
        fit_sbg_counts_batch(lost, censored[:, :-1], start)
    with pytest.raises(ModelFitError, match="negative"):
        fit_sbg_counts_batch(-lost, censored, start)
