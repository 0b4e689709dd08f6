"""The shifted-beta-geometric (sBG) model of contractual retention.

Fader, P. S. & Hardie, B. G. S. (2007), "How to Project Customer Retention",
*Journal of Interactive Marketing* 21(1), 76-90: each customer churns at the end
of any period with a constant probability theta; theta varies across customers
as Beta(alpha, beta). Then

- P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t = 1, 2, ...
- S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)
- r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

alpha and beta are fitted by maximum likelihood to a cohort's survivor counts.

Discounted expected residual lifetime, Fader & Hardie (2010), "Customer-Base
Valuation in a Contractual Setting: The Perils of Ignoring Heterogeneity",
*Marketing Science* 29(1), 85-93, for a customer who has made n - 1 renewals:

    DERL(d | alpha, beta, n - 1) = (beta + n - 1) / (alpha + beta + n - 1)
                                   * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))

the expected number of *future* payments discounted at rate d per period, with
the next renewal's payment undiscounted: DERL = sum_{t >= n} S(t) / S(n - 1) /
(1 + d)^(t - n). (The tests check this identity by brute-force summation.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from ._errors import KpiError


class ModelFitError(KpiError):
    """The data cannot identify the model (no churn, too few periods, bad counts)."""


@dataclass(frozen=True)
class SBGFit:
    """A fitted sBG model. Periods are the contract periods of the input (months here)."""

    alpha: float
    beta: float
    n: int
    periods: int
    log_likelihood: float

    @property
    def mean_churn(self) -> float:
        """Average churn probability per period across customers, alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def polarization(self) -> float:
        """Fader-Hardie polarization index 1 / (alpha + beta + 1): 0 means every customer
        churns at the same rate (no heterogeneity), values near 1 a very mixed base."""
        return 1 / (self.alpha + self.beta + 1)

    @property
    def homogeneous(self) -> bool:
        """True when the data show no heterogeneity (the fit is a plain geometric model)."""
        return self.polarization < 1e-3

    def survival(self, t):
        """S(t): share of a cohort still active after ``t`` periods (S(0) = 1)."""
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta))

    def retention(self, t):
        """r(t) = S(t) / S(t-1): share of period t-1's survivors renewing in period t (t >= 1)."""
        t = np.asarray(t, dtype=float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def churn_probability(self, t):
        """P(T = t): probability of churning exactly at period t (t >= 1)."""
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(self.alpha + 1, self.beta + t - 1) - betaln(self.alpha, self.beta))

    def derl(self, discount_rate: float, renewals: int = 0) -> float:
        """Discounted expected residual lifetime, in periods, of a customer who has
        made ``renewals`` renewals (0 = just acquired, first payment made)."""
        if discount_rate <= 0:
            raise ValueError("discount_rate must be > 0 (per period)")
        n = renewals + 1
        a, b = self.alpha, self.beta
        return float((b + n - 1) / (a + b + n - 1) * hyp2f1(1.0, b + n, a + b + n, 1 / (1 + discount_rate)))


def _neg_log_likelihood(params: np.ndarray, lost: np.ndarray, alive_end: float) -> float:
    a, b = np.exp(params)
    t = np.arange(1, len(lost) + 1)
    log_p = betaln(a + 1, b + t - 1) - betaln(a, b)
    log_s = betaln(a, b + len(lost)) - betaln(a, b)
    return -float(np.sum(lost * log_p) + alive_end * log_s)


def fit_sbg(survivors: Sequence[float]) -> SBGFit:
    """Fit alpha and beta by maximum likelihood to counts alive at t = 0..T.

    Parameters
    ----------
    survivors
        Customers still active at the start of the cohort (t = 0) and after
        each period, e.g. ``[1000, 869, 743, 653, 593, 551, 517, 491]``.

    Raises
    ------
    ModelFitError
        Fewer than two counts, counts that increase, or no churn at all (beta
        is then unbounded: retention looks perfect and the model says nothing).
    """
    s = np.asarray(survivors, dtype=float)
    if s.ndim != 1 or len(s) < 2:
        raise ModelFitError("sBG needs survivor counts for at least two periods (t = 0 and t = 1)")
    if s[0] <= 0 or np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ModelFitError("survivor counts must start above 0 and never increase")
    lost = -np.diff(s)
    if lost.sum() == 0:
        raise ModelFitError("no customer churned in this cohort, so retention cannot be modelled")
    best = None
    for start in ((0.0, 0.0), (np.log(0.5), np.log(2.0)), (np.log(2.0), np.log(10.0))):
        res = minimize(_neg_log_likelihood, np.array(start), args=(lost, s[-1]), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        if best is None or res.fun < best.fun:
            best = res
    a, b = np.exp(best.x)
    return SBGFit(alpha=float(a), beta=float(b), n=int(s[0]), periods=len(s) - 1,
                  log_likelihood=-float(best.fun))


def sbg_clv(fit: SBGFit, mrr: float, gross_margin: float, discount_rate: float) -> float:
    """Expected discounted margin of a just-acquired customer.

    CLV = mrr x gross_margin x sum_{t >= 0} S(t) / (1 + d)^t
        = mrr x gross_margin x (1 + DERL(d | alpha, beta, 0 renewals) / (1 + d)):
    the first payment now, each later one discounted by its distance from now.
    ``discount_rate`` is per period (monthly: 10 %/year is about 0.008/month).
    """
    return float(mrr * gross_margin * (1 + fit.derl(discount_rate, renewals=0) / (1 + discount_rate)))
