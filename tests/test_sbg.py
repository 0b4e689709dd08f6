"""sBG: the paper's published estimates, DERL against brute-force sums, properties, edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import KpiError
from kpilib._sbg import SBGFit, fit_sbg, sbg_clv

HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 297, 262, 241]


def test_reproduces_fader_hardie_2007_high_end():
    """Fader & Hardie (2007), J. Interactive Marketing 21(1): 'high end' segment,
    published alpha = 0.668, beta = 3.806."""
    fit = fit_sbg(HIGH_END)
    assert (round(fit.alpha, 3), round(fit.beta, 3)) == (0.668, 3.806)


def test_reproduces_fader_hardie_2007_regular():
    """Same paper, 'regular' segment: published alpha = 0.704, beta = 1.182. The exact
    maximum is (0.7025, 1.1806); the published pair's log-likelihood is within 0.001 of it
    (spreadsheet-solver precision), so we assert agreement to 0.003."""
    fit = fit_sbg(REGULAR)
    assert fit.alpha == pytest.approx(0.704, abs=0.003)
    assert fit.beta == pytest.approx(1.182, abs=0.003)
    published = SBGFit(0.704, 1.182, 1000, 7, 0.0)
    lost = -np.diff(REGULAR)
    ll = np.sum(lost * np.log(published.churn_probability(np.arange(1, 8)))) + \
        REGULAR[-1] * np.log(published.survival(7))
    assert fit.log_likelihood >= ll and fit.log_likelihood - ll < 1e-3


def test_projection_matches_the_data():
    fit = fit_sbg(HIGH_END)
    # two parameters for seven periods: the curve tracks the data within 3 % and ends
    # within 0.5 % of the last count (the paper's Figure 2 shows the same close fit)
    np.testing.assert_allclose(fit.survival(np.arange(8)) * 1000, HIGH_END, rtol=0.03)
    assert fit.survival(7) * 1000 == pytest.approx(491, rel=0.005)
    assert fit.survival(0) == pytest.approx(1.0)
    assert fit.retention(1) == pytest.approx(fit.survival(1))


@pytest.mark.parametrize("renewals", [0, 1, 4])
@pytest.mark.parametrize("d", [0.01, 0.1])
def test_derl_equals_brute_force_sum(renewals, d):
    fit = fit_sbg(REGULAR)
    n = renewals + 1
    t = np.arange(n, 20000)
    brute = np.sum(fit.survival(t) / fit.survival(n - 1) * np.exp(-(t - n) * np.log1p(d)))
    assert fit.derl(d, renewals) == pytest.approx(brute, rel=1e-6)


def test_clv_is_discounted_margin_stream():
    fit = fit_sbg(HIGH_END)
    t = np.arange(0, 20000)
    brute = 100 * 0.8 * np.sum(fit.survival(t) * np.exp(-t * np.log1p(0.01)))
    assert sbg_clv(fit, mrr=100, gross_margin=0.8, discount_rate=0.01) == pytest.approx(brute, rel=1e-6)


@given(st.floats(0.05, 20), st.floats(0.05, 20), st.integers(1, 60))
def test_survival_and_retention_are_probabilities(a, b, t):
    fit = SBGFit(a, b, 100, 10, 0.0)
    assert 0 < fit.survival(t) <= fit.survival(t - 1) <= 1
    assert 0 < fit.retention(t) < 1
    assert fit.retention(t + 1) >= fit.retention(t)  # survivors are ever more loyal


@pytest.mark.parametrize("bad", [[100], [100, 100, 100], [100, 120], [0, 0], [100, -1]])
def test_unidentifiable_inputs_raise_a_clear_error(bad):
    with pytest.raises(KpiError):
        fit_sbg(bad)


def test_polarization_and_homogeneous_cohorts():
    fit = fit_sbg(HIGH_END)
    assert fit.mean_churn == pytest.approx(0.668 / (0.668 + 3.806), abs=1e-3)
    assert fit.polarization == pytest.approx(1 / (0.668 + 3.806 + 1), abs=1e-3)
    assert not fit.homogeneous
    geometric = [round(1000 * 0.9 ** t) for t in range(10)]  # one churn rate for all: 10 %
    flat = fit_sbg(geometric)
    assert flat.homogeneous and flat.mean_churn == pytest.approx(0.1, abs=0.002)


def test_the_bounded_fit_reports_convergence_on_published_and_flat_books():
    regular = fit_sbg([1000, 631, 468, 382, 326, 289, 262, 241])
    assert regular.converged and regular.iterations > 0
    flat = fit_sbg([1000 * 0.9 ** t for t in range(10)])  # every customer churns 10 % a period
    assert flat.converged and flat.homogeneous and flat.mean_churn == pytest.approx(0.1, abs=1e-6)
