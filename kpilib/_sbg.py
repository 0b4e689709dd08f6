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

#: Smallest polarization searched: below it churn is the same for every customer (a geometric model).
MIN_POLARIZATION = 1e-7


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
    converged: bool = True
    iterations: int = 0

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
        """True when the data show no heterogeneity (the fit is a plain geometric model):
        alpha and beta ran to the optimiser's bound with their ratio fixed, or polarization
        is below 0.001 (at the search's edge, alpha and beta are large with a fixed ratio)."""
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


def _alpha_beta(mean: float, polarization: float) -> tuple[float, float]:
    """alpha, beta from the mean churn m = a / (a + b) and the polarization p = 1 / (a + b + 1)."""
    total = (1 - polarization) / polarization
    return mean * total, (1 - mean) * total


def _neg_log_likelihood(params: np.ndarray, lost: np.ndarray, alive_end: float) -> float:
    """-log L of the sBG, by the recursion of Fader and Hardie (2007) in log form.

    log S(t) = sum_{j<t} log((b + j) / (a + b + j)) and log P(T = t) = log S(t - 1) +
    log(a / (a + b + t - 1)): sums of logs stay exact where betaln differences of huge
    a and b (a homogeneous book) cancel catastrophically.
    """
    a, b = _alpha_beta(*params)
    j = np.arange(len(lost), dtype=float)
    log_s = np.concatenate([[0.0], np.cumsum(np.log(b + j) - np.log(a + b + j))])  # S(0..T)
    log_p = log_s[:-1] + np.log(a) - np.log(a + b + j)  # P(T = 1..T)
    value = float(np.sum(np.where(lost > 0, lost * log_p, 0.0)) + (alive_end * log_s[-1] if alive_end else 0.0))
    return -value if np.isfinite(value) else 1e300


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
    # searched as (mean churn, polarization) in the unit square: the likelihood is smooth there,
    # and a homogeneous book is the edge polarization -> 0 (a geometric model), not a ridge to infinity
    churn = float(lost.sum() / (lost * np.arange(1, len(lost) + 1)).sum() if s[-1] == 0 else
                  lost.sum() / ((lost * np.arange(1, len(lost) + 1)).sum() + s[-1] * len(lost)))
    best = None
    for start in ((min(max(churn, 1e-3), 0.9), 0.01), (min(max(churn, 1e-3), 0.9), 0.3), (0.5, 0.5)):
        res = minimize(_neg_log_likelihood, np.array(start), args=(lost, s[-1]), method="L-BFGS-B",
                       bounds=[(1e-9, 1 - 1e-9), (MIN_POLARIZATION, 1 - 1e-9)],
                       options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    if not np.isfinite(best.fun):
        raise ModelFitError("the sBG likelihood could not be evaluated on these counts")
    a, b = _alpha_beta(*best.x)
    return SBGFit(alpha=float(a), beta=float(b), n=int(s[0]), periods=len(s) - 1,
                  log_likelihood=-float(best.fun), converged=bool(best.success), iterations=int(best.nit))


def sbg_clv(fit: SBGFit, mrr: float, gross_margin: float, discount_rate: float) -> float:
    """Expected discounted margin of a just-acquired customer.

    CLV = mrr x gross_margin x sum_{t >= 0} S(t) / (1 + d)^t
        = mrr x gross_margin x (1 + DERL(d | alpha, beta, 0 renewals) / (1 + d)):
    the first payment now, each later one discounted by its distance from now.
    ``discount_rate`` is per period (monthly: 10 %/year is about 0.008/month).
    """
    return float(mrr * gross_margin * (1 + fit.derl(discount_rate, renewals=0) / (1 + discount_rate)))
