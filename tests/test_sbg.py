"""sBG: the paper's published estimates, DERL against brute-force sums, properties, edges."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import KpiError
from kpilib.metrics.sbg import (
    IntervalChurnModel,
    ModelFitError,
    SBGFit,
    fit_sbg,
    fit_sbg_by_interval,
    fit_sbg_lifetimes,
    sbg_clv,
    sbg_verdict,
)

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


# --- convergence, the geometric verdict and lifetimes in renewal periods ------------------------



def _simulate(rng, n, alpha=None, beta=None, churn=None, horizon=12, interval="month"):
    """Lifetimes in periods: theta ~ Beta(alpha, beta) per customer (or one ``churn`` for all),
    T ~ Geometric(theta), each customer observed into its period 1..horizon (unequal censoring):
    a customer in its period ``seen`` when the data end has paid ``seen`` times and a churn at
    the end of period T is seen only if T < seen (as :func:`interval_lifetimes` counts)."""
    theta = rng.beta(alpha, beta, n) if churn is None else np.full(n, churn)
    t = rng.geometric(theta)
    seen = rng.integers(1, horizon + 1, n)
    churned = t < seen
    return pd.DataFrame({"billing_interval": interval, "periods": np.where(churned, t, seen), "churned": churned})


def test_fit_on_lifetimes_equals_fit_on_survivor_counts():
    """All customers observed for 7 periods: the censored likelihood is the survivor-count one."""
    s = np.array(HIGH_END)
    lost = -np.diff(s)
    periods = np.concatenate([np.repeat(np.arange(1, 8), lost), np.full(s[-1], 8)])  # alive after 7: paid 8
    churned = np.concatenate([np.ones(lost.sum(), bool), np.zeros(s[-1], bool)])
    fit = fit_sbg_lifetimes(pd.DataFrame({"periods": periods, "churned": churned}))
    assert (round(fit.alpha, 3), round(fit.beta, 3)) == (0.668, 3.806)
    assert fit.log_likelihood == pytest.approx(fit_sbg(HIGH_END).log_likelihood)


def test_verdict_flips_between_a_heterogeneous_and_a_geometric_book(rng):
    mixed = fit_sbg_lifetimes(_simulate(rng, 4000, alpha=0.8, beta=6.0))
    flat = fit_sbg_lifetimes(_simulate(rng, 4000, churn=0.05))
    assert mixed.heterogeneity_significant and not mixed.homogeneous
    words = sbg_verdict(mixed)
    assert words.startswith("Customers differ: churn falls with tenure")
    # the sentence states the fitted parameters: 1 - r(1) and 1 - r(12)
    assert f"{100 * mixed.alpha / (mixed.alpha + mixed.beta):.1f}% in month 1" in words
    assert f"{100 * mixed.alpha / (mixed.alpha + mixed.beta + 11):.1f}% in month 12" in words
    assert not flat.heterogeneity_significant
    # the MLE may sit inside the square (sampling noise); the verdict then uses the geometric rate
    assert f"same for every customer (geometric): about {100 * flat.geometric_churn:.1f}% a month" \
        in sbg_verdict(flat)
    assert flat.geometric_churn == pytest.approx(0.05, abs=0.003)


def test_homogeneous_verdict_names_the_rate_and_the_monthly_equivalent():
    fit = fit_sbg([1000 * 0.8 ** t for t in range(6)], interval="year")
    assert fit.homogeneous
    assert sbg_verdict(fit) == ("Churn is the same for every customer (geometric): about 20.0% a year "
                                f"({100 * (1 - 0.8 ** (1 / 12)):.1f}% a month over the first year).")


def test_published_fits_are_significantly_heterogeneous():
    for book in (HIGH_END, REGULAR):
        fit = fit_sbg(book)
        assert fit.converged and fit.heterogeneity_significant
        assert sbg_verdict(fit).startswith("Customers differ")


def test_recovers_parameters_under_unequal_censoring(rng):
    fit = fit_sbg_lifetimes(_simulate(rng, 20000, alpha=1.0, beta=4.0, horizon=24))
    assert fit.mean_churn == pytest.approx(0.2, abs=0.015)
    assert fit.polarization == pytest.approx(1 / 6, abs=0.03)


def test_fit_is_fast():
    book = [503, 499, 494, 480, 477, 473, 463, 449, 441, 431, 424, 419, 389]
    best = min(_timed(fit_sbg, book) for _ in range(5))
    assert best < 0.1


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_a_fit_that_does_not_converge_raises_or_is_flagged(monkeypatch):
    import kpilib.metrics.sbg as sbg

    class Stopped:  # what an optimiser that gave up far from the maximum returns
        x, nit, message, success = np.array([0.5, 0.5]), 1, "iteration limit reached", False
        fun = float(sbg._nll_and_grad(np.array([0.5, 0.5]), -np.diff(HIGH_END) / 1000.0,
                                      np.r_[np.zeros(7), 0.491])[0])

    monkeypatch.setattr("scipy.optimize.minimize", lambda *a, **k: Stopped())  # sbg imports it when it fits
    with pytest.raises(ModelFitError, match="did not converge"):
        fit_sbg(HIGH_END)
    flagged = fit_sbg(HIGH_END, on_failure="flag")
    assert not flagged.converged and "iteration limit" in flagged.message
    assert sbg_verdict(flagged).startswith("The churn model did not converge")


def test_interval_model_combines_groups_by_hand():
    monthly = SBGFit(0.5, 20.0, 100, 12, 0.0, interval="month")
    annual = SBGFit(1.0, 4.0, 50, 3, 0.0, interval="year")
    model = IntervalChurnModel(fits={"month": monthly, "year": annual}, weights={"month": 3.0, "year": 1.0},
                               mrr={"month": 100.0, "year": 300.0}, gross_margin=0.8, annual_discount_rate=0.1)
    s12 = 0.75 * monthly.survival(12) + 0.25 * annual.survival(1)  # an annual customer: one renewal by month 12
    assert model.monthly_churn == pytest.approx(1 - s12 ** (1 / 12))
    assert model.survival_months(11) == pytest.approx(0.75 * monthly.survival(11) + 0.25)  # no renewal yet
    t = np.arange(0, 20000)
    d_month = 1.1 ** (1 / 12) - 1
    clv_m = 100 * 0.8 * np.sum(monthly.survival(t) / (1 + d_month) ** t)
    clv_y = 300 * 12 * 0.8 * np.sum(annual.survival(t[:2000]) / 1.1 ** t[:2000])  # the year's fee, up front
    assert model.clv == pytest.approx(0.75 * clv_m + 0.25 * clv_y, rel=1e-6)
    assert model.summary.loc["all", "clv"] == pytest.approx(model.clv)


def test_the_company_row_says_why_it_has_no_churn_per_renewal():
    """Renewals of a month and of a year have no common length: the company row leaves churn per renewal
    undefined and says why; with one interval fitted, it says that interval's row is the company's."""
    monthly = SBGFit(0.5, 20.0, 100, 12, 0.0, interval="month")
    annual = SBGFit(1.0, 4.0, 50, 3, 0.0, interval="year")
    both = IntervalChurnModel(fits={"month": monthly, "year": annual}, weights={"month": 3.0, "year": 1.0},
                              mrr={"month": 100.0, "year": 300.0}, gross_margin=0.8, annual_discount_rate=0.1)
    row = both.summary.loc["all"]
    assert np.isnan(row["period_churn"]) and "no single churn per renewal" in row["verdict"]
    one = IntervalChurnModel(fits={"month": monthly}, weights={"month": 3.0}, mrr={"month": 100.0},
                             gross_margin=0.8, annual_discount_rate=0.1)
    assert one.summary.loc["all", "verdict"] == "One billing interval was fitted: its row is the company's."
    none = IntervalChurnModel(fits={}, weights={"quarter": 30.0}, mrr={}, gross_margin=0.8,
                              annual_discount_rate=0.1, failures={"quarter": "no customer churned"})
    assert none.summary.loc["all", "verdict"] == ""


def test_interval_fit_recovers_each_group_and_reports_unfittable_ones(rng):
    books = pd.concat([_simulate(rng, 3000, churn=0.02, horizon=36).assign(first_mrr=100.0),
                       _simulate(rng, 1500, churn=0.2, horizon=4, interval="year").assign(first_mrr=150.0),
                       pd.DataFrame({"billing_interval": "quarter", "periods": [2] * 30, "churned": False,
                                     "first_mrr": 300.0})])
    model = fit_sbg_by_interval(books, gross_margin=1.0)
    assert model.fits["month"].mean_churn == pytest.approx(0.02, abs=0.003)
    assert model.fits["year"].mean_churn == pytest.approx(0.2, abs=0.03)
    assert "no customer churned" in model.failures["quarter"]
    assert model.coverage == pytest.approx(4500 / 4530)
    assert model.mrr == {"month": 100.0, "year": 150.0, "quarter": 300.0}
    # first-year monthly equivalent: 2/3 monthly at ~2 %, 1/3 annual at ~20 % a year (~1.8 % a month)
    assert 0.016 < model.monthly_churn < 0.022
    assert set(model.summary.index) == {"month", "quarter", "year", "all"}
