"""fit_sbg_counts: the sBG fitted to counts, and its warm start (the forecast's bootstrap refits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpilib import ModelFitError
from kpilib.metrics.sbg import fit_sbg, fit_sbg_counts, fit_sbg_lifetimes

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
