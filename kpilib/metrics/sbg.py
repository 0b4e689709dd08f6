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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1, xlogy

from ..data.contract import MONTHS_PER_INTERVAL
from ..errors import KpiError, ModelFitError
from ..i18n import N_, _, current_language, current_locale, percent_text

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

#: Smallest polarization searched: below it churn is the same for every customer (a geometric model).
MIN_POLARIZATION = 1e-7
#: Polarization below which the fitted parameters *are* a geometric model (alpha + beta > 999):
#: churn then falls by less than 1.1 % of itself between period 1 and period 12.
HOMOGENEOUS_POLARIZATION = 1e-3
#: 5 % critical value of the likelihood-ratio test of "no heterogeneity" (polarization = 0 lies on
#: the boundary, so the statistic is a 50:50 mixture of chi2(0) and chi2(1): Self & Liang 1987).
LR_CRITICAL = 2.7055
#: Periods over which :func:`sbg_verdict` describes the fall of churn, per interval.
VERDICT_HORIZON: dict[str, int] = {"month": 12, "quarter": 8, "year": 5}

Interval = Literal["month", "quarter", "year"]
OnFailure = Literal["raise", "flag"]


def _check_interval(interval: str) -> int:
    if interval not in MONTHS_PER_INTERVAL:
        raise KpiError(f"billing interval {interval!r} is not one of {sorted(MONTHS_PER_INTERVAL)}")
    return MONTHS_PER_INTERVAL[interval]


@dataclass(frozen=True)
class SBGFit:
    """A fitted sBG model. A period is one renewal period of ``interval`` (a month by default).

    ``converged`` says whether the optimiser reached a maximum (a projected-gradient check, not
    only the optimiser's own flag); ``message`` says why not. ``geometric_log_likelihood`` and
    ``geometric_churn`` are the best one-rate-for-everyone (geometric) model of the same data,
    the null model of :attr:`heterogeneity_lr`.
    """

    alpha: float
    beta: float
    n: int
    periods: int
    log_likelihood: float
    converged: bool = True
    iterations: int = 0
    interval: str = "month"
    geometric_log_likelihood: float = float("nan")
    geometric_churn: float = float("nan")
    message: str = ""

    @property
    def months_per_period(self) -> int:
        return MONTHS_PER_INTERVAL[self.interval]

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
        """True when the fitted parameters are a plain geometric model: alpha and beta ran off
        to large values with their ratio fixed (polarization below :data:`HOMOGENEOUS_POLARIZATION`)."""
        return self.polarization < HOMOGENEOUS_POLARIZATION

    @property
    def heterogeneity_lr(self) -> float:
        """Likelihood-ratio statistic 2 (log L_sBG - log L_geometric) >= 0 (NaN if unknown)."""
        return max(0.0, 2 * (self.log_likelihood - self.geometric_log_likelihood))

    @property
    def heterogeneity_significant(self) -> bool:
        """True when the data reject one churn rate for everyone at 5 % (:data:`LR_CRITICAL`)."""
        return bool(np.isfinite(self.geometric_log_likelihood) and self.heterogeneity_lr > LR_CRITICAL)

    def survival(self, t):
        """S(t): share of a cohort still active after ``t`` periods (S(0) = 1)."""
        return survival(self.alpha, self.beta, t)

    def retention(self, t):
        """r(t) = S(t) / S(t-1): share of period t-1's survivors renewing in period t (t >= 1)."""
        t = np.asarray(t, dtype=float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def period_churn(self, t):
        """1 - r(t) = alpha / (alpha + beta + t - 1): churn of period t among its survivors."""
        t = np.asarray(t, dtype=float)
        return self.alpha / (self.alpha + self.beta + t - 1)

    def churn_probability(self, t):
        """P(T = t): probability of churning exactly at period t (t >= 1)."""
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(self.alpha + 1, self.beta + t - 1) - betaln(self.alpha, self.beta))

    @property
    def monthly_churn(self) -> float:
        """Monthly-equivalent churn over a new customer's first year, 1 - S(12 months)^(1/12),
        with S(12 months) = S(12 / months per period) (an annual customer can leave only at renewal)."""
        return float(1 - self.survival(12 // self.months_per_period) ** (1 / 12))

    def derl(self, discount_rate: float, renewals: int = 0) -> float:
        """Discounted expected residual lifetime, in periods, of a customer who has
        made ``renewals`` renewals (0 = just acquired, first payment made)."""
        if discount_rate <= 0:
            raise KpiError("discount_rate must be > 0 (per period)")
        n = renewals + 1
        a, b = self.alpha, self.beta
        return float((b + n - 1) / (a + b + n - 1) * hyp2f1(1.0, b + n, a + b + n, 1 / (1 + discount_rate)))


def survival(alpha, beta, t):
    """S(t) = B(alpha, beta + t) / B(alpha, beta): the share of a cohort still active after ``t``
    periods (S(0) = 1); arrays broadcast (many fits' alpha and beta against many t)."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def _alpha_beta(mean: float, polarization: float) -> tuple[float, float]:
    """alpha, beta from the mean churn m = a / (a + b) and the polarization p = 1 / (a + b + 1)."""
    total = (1 - polarization) / polarization
    return mean * total, (1 - mean) * total


def _nll_and_grad(params: np.ndarray, lost: np.ndarray, censored: np.ndarray) -> tuple[float, np.ndarray]:
    """-log L of the sBG with right-censoring, and its gradient in (mean, polarization).

    ``lost[t - 1]`` customers churned in period t (t = 1..T) and ``censored[c]`` were last seen
    alive after c periods (c = 0..T). By the recursion of Fader and Hardie (2007) in log form,
    log S(t) = -sum_{j<t} log1p(a / (b + j)) and log P(T = t) = log S(t - 1) + log(a / (a + b + t - 1)):
    sums of logs stay exact where betaln differences of huge a and b (a homogeneous book) cancel.
    With K = a + b: d log S(t)/dm = -K sum_{j<t} 1/(b + j), d log S(t)/dK = -m sum_{j<t} j/((b + j)(K + j));
    log P adds 1/m and (t - 1)/(K (K + t - 1)); dK/dp = -1/p^2.
    """
    m, p = params
    k = (1 - p) / p
    a, b = m * k, (1 - m) * k
    j = np.arange(len(lost), dtype=float)
    log_s = np.concatenate([[0.0], np.cumsum(-np.log1p(a / (b + j)))])          # S(0..T)
    ds_dm = np.concatenate([[0.0], np.cumsum(-k / (b + j))])
    ds_dk = np.concatenate([[0.0], np.cumsum(-m * j / ((b + j) * (k + j)))])
    log_p = log_s[:-1] + np.log(m) + np.log(k) - np.log(k + j)                  # P(T = 1..T)
    dp_dm = ds_dm[:-1] + 1 / m
    dp_dk = ds_dk[:-1] + j / (k * (k + j))
    ll = float(np.dot(lost, log_p) + np.dot(censored, log_s))
    grad_m = float(np.dot(lost, dp_dm) + np.dot(censored, ds_dm))
    grad_k = float(np.dot(lost, dp_dk) + np.dot(censored, ds_dk))
    if not np.isfinite(ll):
        return 1e300, np.zeros(2)
    return -ll, -np.array([grad_m, grad_k * (-1 / p**2)])


_BOUNDS = ((1e-9, 1 - 1e-9), (MIN_POLARIZATION, 1 - 1e-9))


def _projected_gradient(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient with components pushing out of an active bound set to 0 (KKT check)."""
    out = g.copy()
    for i, (lo, hi) in enumerate(_BOUNDS):
        if (x[i] <= lo * (1 + 1e-9) and g[i] > 0) or (x[i] >= hi * (1 - 1e-12) and g[i] < 0):
            out[i] = 0.0
    return out


def _geometric(lost: np.ndarray, censored: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood one churn rate q = churned / periods at risk, and its log-likelihood."""
    t = np.arange(1, len(lost) + 1)
    churned, exposure = lost.sum(), np.dot(lost, t) + np.dot(censored, np.arange(len(censored)))
    q = churned / exposure
    ll = xlogy(churned, q) + xlogy(exposure - churned, 1 - q)
    return float(q), float(ll)


def _optimise(lost: np.ndarray, censored: np.ndarray, starts) -> tuple[OptimizeResult, bool]:
    """The best TNC result over ``starts`` (mean, polarization) and whether it converged (projected gradient)."""
    from scipy.optimize import minimize  # here: a pack with nothing to fit never imports the optimisers

    n = float(lost.sum() + censored.sum())
    best = min((minimize(_nll_and_grad, np.array(start), args=(lost / n, censored / n), jac=True, method="TNC",
                         bounds=_BOUNDS, options={"ftol": 1e-14, "gtol": 1e-10, "maxfun": 500})
                for start in starts), key=lambda res: res.fun)  # the first of equals, as before
    value, grad = _nll_and_grad(best.x, lost / n, censored / n)
    converged = bool(np.isfinite(value) and value < 1e299 and np.max(np.abs(_projected_gradient(best.x, grad))) < 1e-5)
    return best, converged


def _fit_counts(lost: np.ndarray, censored: np.ndarray, *, interval: str, on_failure: OnFailure,
                start: tuple[float, float] | None = None) -> SBGFit:
    """Fit to churn counts per period and censored counts per last-seen period (see :func:`_nll_and_grad`)."""
    _check_interval(interval)
    if on_failure not in ("raise", "flag"):
        raise KpiError(f"on_failure {on_failure!r} is not one of ['flag', 'raise']")
    if lost.sum() == 0:
        raise ModelFitError("no customer churned, so retention cannot be modelled (beta is unbounded)")
    n = float(lost.sum() + censored.sum())
    q, geo_ll = _geometric(lost, censored)
    first = min(max(lost[0] / n, 1e-3), 0.9)
    starts = ((min(max(q, 1e-3), 0.9), 1e-4), (first, 0.05), (first, 0.3), (0.5, 0.7))
    converged = False
    if start is not None:  # one start from a nearby fit; the four starts when it does not converge
        a0, b0 = start
        near = (min(max(a0 / (a0 + b0), _BOUNDS[0][0]), _BOUNDS[0][1]),
                min(max(1 / (a0 + b0 + 1), _BOUNDS[1][0]), _BOUNDS[1][1]))
        best, converged = _optimise(lost, censored, (near,))
    if not converged:
        best, converged = _optimise(lost, censored, starts)
    message = "" if converged else f"the sBG optimiser did not converge ({best.message})"
    if not converged and on_failure == "raise":
        raise ModelFitError(message)
    a, b = _alpha_beta(*best.x)
    return SBGFit(alpha=float(a), beta=float(b), n=int(round(n)), periods=len(lost),
                  log_likelihood=-float(best.fun) * n, converged=converged, iterations=int(best.nit),
                  interval=interval, geometric_log_likelihood=geo_ll, geometric_churn=q, message=message)


def fit_sbg(survivors: Sequence[float], *, interval: Interval = "month", on_failure: OnFailure = "raise") -> SBGFit:
    """Fit alpha and beta by maximum likelihood to counts alive at t = 0..T.

    Bounded truncated Newton (scipy's TNC) with the analytic gradient over (mean churn,
    polarization) in the unit square, from four starts: a few milliseconds (scipy's L-BFGS-B
    calls BLAS for 2-vectors and stalls for tens of milliseconds when BLAS threads compete).
    A homogeneous book is the edge polarization -> 0 (a geometric model), not a ridge to
    infinity. Convergence is checked on the projected gradient.

    Parameters
    ----------
    survivors
        Customers still active at the start of the cohort (t = 0) and after
        each period, e.g. ``[1000, 869, 743, 653, 593, 551, 517, 491]``.
    interval
        What one period is (``"month"``, ``"quarter"`` or ``"year"``).
    on_failure
        ``"raise"`` (default): a fit that does not converge raises :class:`ModelFitError`;
        ``"flag"``: it is returned with ``converged=False`` and a ``message``.

    Raises
    ------
    ModelFitError
        Fewer than two counts, counts that increase, no churn at all (beta is then
        unbounded: retention looks perfect and the model says nothing), or no convergence.
    """
    s = np.asarray(survivors, dtype=float)
    if s.ndim != 1 or len(s) < 2:
        raise ModelFitError("sBG needs survivor counts for at least two periods (t = 0 and t = 1)")
    if s[0] <= 0 or np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ModelFitError("survivor counts must start above 0 and never increase")
    censored = np.zeros(len(s))
    censored[-1] = s[-1]
    return _fit_counts(-np.diff(s), censored, interval=interval, on_failure=on_failure)


def fit_sbg_counts(lost: Sequence[float], censored: Sequence[float], *, interval: Interval = "month",
                   on_failure: OnFailure = "raise", start: tuple[float, float] | None = None) -> SBGFit:
    """Fit the sBG to counts: ``lost[t - 1]`` customers churned in period t (t = 1 .. T) and
    ``censored[c]`` were last seen still paying after c renewal periods (c = 0 .. T).

    The likelihood of :func:`fit_sbg_lifetimes` (which tallies its lifetimes into these counts),
    for callers that already hold them, such as a bootstrap that reweights distinct lifetimes.
    ``start``: (alpha, beta) of a nearby fit (a bootstrap refit starts from the point fit): the
    optimiser then starts there alone, and from the usual four starts only when that does not
    converge (the same maximum, about 6 times faster).
    """
    lost_ = np.asarray(lost, dtype=float)
    censored_ = np.asarray(censored, dtype=float)
    if lost_.ndim != 1 or censored_.shape != (len(lost_) + 1,):
        raise ModelFitError("censored needs one count more than lost (c = 0 .. T)")
    if np.any(lost_ < 0) or np.any(censored_ < 0):
        raise ModelFitError("counts must not be negative")
    return _fit_counts(lost_, censored_, interval=interval, on_failure=on_failure, start=start)


def _nll_and_grad_rows(m: np.ndarray, p: np.ndarray, lost: np.ndarray,
                       censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_nll_and_grad` for many books at once: ``m``, ``p`` (R,), ``lost`` (R, T), ``censored``
    (R, T + 1); returns -log L (R,) and its gradient (R, 2), 1e300 and 0 where not finite."""
    k = (1 - p) / p
    a, b = m * k, (1 - m) * k
    j = np.arange(lost.shape[1], dtype=float)
    bj, kj = b[:, None] + j, k[:, None] + j
    zero = np.zeros((len(m), 1))
    log_s = np.hstack([zero, np.cumsum(-np.log1p(a[:, None] / bj), axis=1)])
    ds_dm = np.hstack([zero, np.cumsum(-k[:, None] / bj, axis=1)])
    ds_dk = np.hstack([zero, np.cumsum(-m[:, None] * j / (bj * kj), axis=1)])
    log_p = log_s[:, :-1] + (np.log(m) + np.log(k))[:, None] - np.log(kj)
    dp_dm = ds_dm[:, :-1] + 1 / m[:, None]
    dp_dk = ds_dk[:, :-1] + j / (k[:, None] * kj)
    with np.errstate(invalid="ignore"):  # 0 x -inf where a count is 0: not finite, as in the scalar form
        ll = (lost * log_p).sum(axis=1) + (censored * log_s).sum(axis=1)
        grad = -np.column_stack([(lost * dp_dm).sum(axis=1) + (censored * ds_dm).sum(axis=1),
                                 ((lost * dp_dk).sum(axis=1) + (censored * ds_dk).sum(axis=1)) * (-1 / p**2)])
    bad = ~np.isfinite(ll)
    return np.where(bad, 1e300, -ll), np.where(bad[:, None], 0.0, grad)


_LO, _HI = np.array([b[0] for b in _BOUNDS]), np.array([b[1] for b in _BOUNDS])


def _projected_rows(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """:func:`_projected_gradient` of every row."""
    pushing_out = ((x <= _LO * (1 + 1e-9)) & (g > 0)) | ((x >= _HI * (1 - 1e-12)) & (g < 0))
    return np.where(pushing_out, 0.0, g)


def _newton_rows(x: np.ndarray, lost: np.ndarray, censored: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Projected Newton steps with a backtracking (Armijo) line search, every row at once, from ``x``
    (R, 2) in (mean, polarization); the Hessian by forward differences of the analytic gradient."""
    x = np.clip(x, _LO, _HI)
    f, g = _nll_and_grad_rows(x[:, 0], x[:, 1], lost, censored)
    going = np.ones(len(x), dtype=bool)
    for _step in range(iterations):
        pg = _projected_rows(x, g)
        going &= np.abs(pg).max(axis=1) > 1e-9  # the likelihood's own precision is near 1e-8 here
        if not going.any():
            break
        rows = np.flatnonzero(going)
        xr, gr, fr = x[rows], g[rows], f[rows]
        step = 1e-7 * xr * np.where(xr * (1 + 1e-7) < _HI, 1.0, -1.0)  # inward, relative
        hess = np.empty((len(rows), 2, 2))
        for i in range(2):
            moved = xr.copy()
            moved[:, i] += step[:, i]
            hess[:, :, i] = (_nll_and_grad_rows(moved[:, 0], moved[:, 1], lost[rows], censored[rows])[1] - gr) \
                / step[:, i][:, None]
        hess = (hess + hess.transpose(0, 2, 1)) / 2
        free = _projected_rows(xr, gr) != 0
        d = np.where(free, -gr / np.where(np.diagonal(hess, axis1=1, axis2=2) > 0,
                                           np.diagonal(hess, axis1=1, axis2=2), np.inf), 0.0)
        det = hess[:, 0, 0] * hess[:, 1, 1] - hess[:, 0, 1] ** 2
        both = free.all(axis=1) & (det > 0) & (hess[:, 0, 0] > 0)
        d[both] = -np.linalg.solve(hess[both], gr[both][:, :, None])[:, :, 0]
        flat = ~np.isfinite(d).all(axis=1) | (np.abs(d).max(axis=1) == 0)
        d[flat] = np.where(free[flat], -gr[flat] * 1e-6, 0.0)  # no curvature to use: a small gradient step
        t, todo = np.ones(len(rows)), np.ones(len(rows), dtype=bool)
        new_x, new_f, new_g = xr.copy(), fr.copy(), gr.copy()
        for _half in range(30):
            tried = np.clip(xr[todo] + t[todo, None] * d[todo], _LO, _HI)
            f_t, g_t = _nll_and_grad_rows(tried[:, 0], tried[:, 1], lost[rows[todo]], censored[rows[todo]])
            ok = f_t <= fr[todo] + 1e-4 * ((tried - xr[todo]) * gr[todo]).sum(axis=1)
            idx = np.flatnonzero(todo)[ok]
            new_x[idx], new_f[idx], new_g[idx] = tried[ok], f_t[ok], g_t[ok]
            todo[idx] = False
            if not todo.any():
                break
            t[todo] /= 2
        going[rows[todo]] = False  # no decrease along the step: as far as it goes
        moved_rows = rows[~todo]
        x[moved_rows], f[moved_rows], g[moved_rows] = new_x[~todo], new_f[~todo], new_g[~todo]
        still = np.abs(new_x[~todo] - xr[~todo]).max(axis=1) > 1e-15 * np.abs(xr[~todo]).max(axis=1)
        going[moved_rows] &= still
    return x


def fit_sbg_counts_batch(lost: np.ndarray, censored: np.ndarray, start: tuple[float, float], *,
                         interval: Interval = "month") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fits of :func:`fit_sbg_counts` for many books of counts at once, all started at ``start``
    (alpha, beta): a bootstrap's refits. ``lost`` (R, T), ``censored`` (R, T + 1).

    Every row is solved together by projected Newton steps on the same likelihood and bounds; a row
    whose projected gradient does not fall under the scalar fit's convergence test is refitted by
    :func:`fit_sbg_counts` itself (one start, then its four). Returns ``alpha``, ``beta`` (NaN where
    no fit converged) and ``converged``, each of length R. A row where nobody churned does not
    converge (beta is unbounded), as :func:`fit_sbg_counts` would say.
    """
    _check_interval(interval)
    lost = np.asarray(lost, dtype=float)
    censored = np.asarray(censored, dtype=float)
    if lost.ndim != 2 or censored.shape != (lost.shape[0], lost.shape[1] + 1):
        raise ModelFitError("censored needs one count more than lost (c = 0 .. T) in every row")
    if np.any(lost < 0) or np.any(censored < 0):
        raise ModelFitError("counts must not be negative")
    rows = len(lost)
    alpha, beta, ok = np.full(rows, np.nan), np.full(rows, np.nan), np.zeros(rows, dtype=bool)
    fit = np.flatnonzero(lost.sum(axis=1) > 0)
    if not len(fit):
        return alpha, beta, ok
    n = (lost[fit].sum(axis=1) + censored[fit].sum(axis=1))[:, None]
    a0, b0 = start
    x0 = np.tile([a0 / (a0 + b0), 1 / (a0 + b0 + 1)], (len(fit), 1))
    x = _newton_rows(x0, lost[fit] / n, censored[fit] / n)
    value, grad = _nll_and_grad_rows(x[:, 0], x[:, 1], lost[fit] / n, censored[fit] / n)
    good = np.isfinite(value) & (value < 1e299) & (np.abs(_projected_rows(x, grad)).max(axis=1) < 1e-5)
    total = (1 - x[:, 1]) / x[:, 1]
    alpha[fit[good]], beta[fit[good]], ok[fit[good]] = x[good, 0] * total[good], (1 - x[good, 0]) * total[good], True
    for r in fit[~good]:  # the scalar fit's own way, for the few the batch could not settle
        one = fit_sbg_counts(lost[r], censored[r], interval=interval, on_failure="flag", start=start)
        if one.converged:
            alpha[r], beta[r], ok[r] = one.alpha, one.beta, True
    return alpha, beta, ok


def fit_sbg_lifetimes(lifetimes: pd.DataFrame, *, interval: Interval = "month",
                      on_failure: OnFailure = "raise") -> SBGFit:
    """Fit the sBG to individual lifetimes counted in renewal periods, with right-censoring.

    ``lifetimes`` has ``periods`` (renewal periods paid for, >= 1) and ``churned``: a churned
    customer contributes P(T = periods), one still paying S(periods - 1) (it has renewed
    ``periods - 1`` times; whether it renews again is not yet known). This is the likelihood
    of :func:`fit_sbg` for cohorts observed for different lengths of time (Fader & Hardie 2007,
    section on unequal observation), e.g. from :func:`kpilib.metrics.cohorts.interval_lifetimes`.
    With a ``customers`` column, each row stands for that many customers
    (:func:`kpilib.metrics.cohorts.interval_counts`): the same counts, the same fit.
    """
    periods = lifetimes["periods"].to_numpy(dtype="int64")
    churned = lifetimes["churned"].to_numpy(dtype=bool)
    weights = lifetimes["customers"].to_numpy(dtype=float) if "customers" in lifetimes else np.ones(len(periods))
    if len(periods) == 0:
        raise ModelFitError("no customers to fit")
    if periods.min() < 1:
        raise ModelFitError("lifetimes must be at least one renewal period long")
    horizon = int(periods.max())
    lost = np.bincount(periods[churned] - 1, weights=weights[churned], minlength=horizon)
    censored = np.bincount(periods[~churned] - 1, weights=weights[~churned], minlength=horizon + 1)
    return _fit_counts(lost, censored, interval=interval, on_failure=on_failure)


def sbg_clv(fit: SBGFit, mrr: float, gross_margin: float, discount_rate: float) -> float:
    """Expected discounted margin of a just-acquired customer.

    CLV = mrr x gross_margin x sum_{t >= 0} S(t) / (1 + d)^t
        = mrr x gross_margin x (1 + DERL(d | alpha, beta, 0 renewals) / (1 + d)):
    the first payment now, each later one discounted by its distance from now.
    ``mrr`` is the payment per period and ``discount_rate`` is per period (monthly: 10 %/year
    is about 0.008/month); for a fit in years pass the annual fee and the annual rate.
    """
    return float(mrr * gross_margin * (1 + fit.derl(discount_rate, renewals=0) / (1 + discount_rate)))


def _pct(x: float, decimals: int = 1) -> str:
    """``2.1%`` in English, ``2,1 %`` in French (:func:`kpilib.i18n.percent_text`)."""
    return percent_text(x, decimals)


def _number(x: float, spec: str) -> str:
    """``format(x, spec)`` in English (``.3g``, ``,``); the locale's marks elsewhere."""
    text = format(x, spec)
    if current_language() == "en" or "e" in text or "n" in text:
        return text
    from babel.numbers import format_decimal

    return format_decimal(float(text.replace(",", "")), locale=current_locale())


def parameter_text(x: float) -> str:
    """A fitted parameter to three significant figures, never in exponent form: ``10.6``, ``397``,
    ``622,000`` (not ``6.22e+05``), with the locale's marks."""
    rounded = float(f"{x:.3g}")
    return _number(rounded, ",.0f" if abs(rounded) >= 1000 else ".3g")


#: Renewal periods as sentences name them (translated where shown).
UNIT_WORDS = {"month": N_("month"), "quarter": N_("quarter"), "year": N_("year")}


def sbg_verdict(fit: SBGFit, horizon: int | None = None) -> str:
    """One sentence on what the fitted parameters say about churn, for a page or a title.

    - ``fit.homogeneous`` (alpha, beta ran off with a fixed ratio): "Churn is the same for every
      customer (geometric): about 2.1 % a month."
    - heterogeneous parameters the data do not support (likelihood-ratio test at 5 %, see
      :attr:`SBGFit.heterogeneity_significant`): the same claim, with the geometric rate, and the
      fitted fall named as within noise.
    - otherwise: "Customers differ: churn falls with tenure, from X % in month 1 to Y % in month 12",
      X = 1 - r(1) = alpha / (alpha + beta), Y = 1 - r(h) = alpha / (alpha + beta + h - 1).

    Annual and quarterly fits add the monthly equivalent. ``horizon`` defaults to
    :data:`VERDICT_HORIZON` of the fit's interval. A fit that did not converge says so.
    """
    h = horizon or VERDICT_HORIZON.get(fit.interval, 12)
    if not fit.converged:
        return _("The churn model did not converge, so it says nothing reliable: {reason}").format(reason=fit.message)
    unit = _(UNIT_WORDS[fit.interval]) if fit.interval in UNIT_WORDS else fit.interval
    monthly = "" if fit.interval == "month" else " " + _("({churn} a month over the first year)").format(
        churn=_pct(fit.monthly_churn))
    first, last = float(fit.period_churn(1)), float(fit.period_churn(h))
    if fit.homogeneous:
        return _("Churn is the same for every customer (geometric): about {churn} a {unit}{monthly}.").format(
            churn=_pct(fit.mean_churn), unit=unit, monthly=monthly)
    if np.isfinite(fit.geometric_log_likelihood) and not fit.heterogeneity_significant:
        return _("Churn looks the same for every customer (geometric): about {churn} a {unit}{monthly}; the fitted "
                 "fall from {first} in {unit} 1 to {last} in {unit} {h} is within noise (likelihood-ratio test, "
                 "5%).").format(churn=_pct(fit.geometric_churn), unit=unit, monthly=monthly, first=_pct(first),
                                 last=_pct(last), h=h)
    return _("Customers differ: churn falls with tenure, from {first} in {unit} 1 to {last} in {unit} "
             "{h}{monthly}.").format(first=_pct(first), last=_pct(last), unit=unit, h=h, monthly=monthly)


@dataclass(frozen=True)
class IntervalChurnModel:
    """sBG models fitted per billing interval, combined into company figures.

    Each interval's model counts time in its own renewal periods (an annual customer can leave
    only at a renewal, so its lifetime is in years). The company figures weight the intervals by
    their share of the customers fitted (the acquisition mix, ``weights``):

    - survival after m months: S(m) = sum_g w_g S_g(floor(m / k_g)), k_g months per period;
    - monthly-equivalent churn = 1 - S(12)^(1/12) over a new customer's first year;
    - CLV = sum_g w_g CLV_g, CLV_g = :func:`sbg_clv` with the period fee ``mrr_g x k_g`` and the
      period discount rate (1 + annual rate)^(k_g / 12) - 1.

    Intervals that cannot be fitted (no churn yet, too few customers) are in ``failures`` with
    the reason and left out of the company figures; ``coverage`` is the share of customers in
    fitted intervals.
    """

    fits: Mapping[str, SBGFit]
    weights: Mapping[str, float]
    mrr: Mapping[str, float]
    gross_margin: float
    annual_discount_rate: float
    failures: Mapping[str, str] = field(default_factory=dict)

    def _fitted(self) -> list[str]:
        return [g for g, f in self.fits.items() if f.converged]  # a flagged fit never enters the figures

    @property
    def coverage(self) -> float:
        total = sum(self.weights.values())
        return float(sum(self.weights[g] for g in self._fitted()) / total) if total else float("nan")

    def survival_months(self, months) -> np.ndarray:
        """Share of a new customer mix still paying after ``months`` months (fitted intervals)."""
        m = np.asarray(months, dtype=float)
        groups = self._fitted()
        total = sum(self.weights[g] for g in groups)
        if not total:
            return np.full(m.shape, np.nan)
        return sum(self.weights[g] * self.fits[g].survival(np.floor(m / MONTHS_PER_INTERVAL[g]))
                   for g in groups) / total

    @property
    def monthly_churn(self) -> float:
        return float(1 - self.survival_months(12) ** (1 / 12))

    def clv_of(self, interval: str) -> float:
        k = MONTHS_PER_INTERVAL[interval]
        rate = (1 + self.annual_discount_rate) ** (k / 12) - 1
        return sbg_clv(self.fits[interval], self.mrr[interval] * k, self.gross_margin, rate)

    @property
    def clv(self) -> float:
        groups = self._fitted()
        total = sum(self.weights[g] for g in groups)
        return float(sum(self.weights[g] * self.clv_of(g) for g in groups) / total) if total else float("nan")

    def _mix_words(self) -> str:
        """Why the company row has no churn per renewal (its renewals have no single length), or that
        one interval's model is the company's; empty when no interval was fitted."""
        fitted = self._fitted()
        if len(fitted) > 1:
            return _("Plans renew at different intervals, so there is no single churn per renewal; the monthly "
                     "equivalent and the CLV weight each interval's model by its customers.")
        if fitted:
            return _("One billing interval was fitted: its row is the company's.")
        return ""

    @property
    def summary(self) -> pd.DataFrame:
        """One row per interval and an ``all`` row: customers, weight, alpha, beta, converged,
        homogeneous, churn per period, monthly-equivalent churn, MRR, CLV, verdict or failure."""
        rows = {}
        total = sum(self.weights.values())
        for g in sorted(self.weights, key=lambda g: MONTHS_PER_INTERVAL[g]):
            f = self.fits.get(g)
            rows[g] = {"customers": self.weights[g], "weight": self.weights[g] / total if total else np.nan,
                       "alpha": f.alpha if f else np.nan, "beta": f.beta if f else np.nan,
                       "converged": f.converged if f else False, "homogeneous": f.homogeneous if f else False,
                       "period_churn": f.mean_churn if f else np.nan,
                       "monthly_churn": f.monthly_churn if f else np.nan,
                       "mrr": self.mrr.get(g, np.nan), "clv": self.clv_of(g) if f else np.nan,
                       "verdict": sbg_verdict(f) if f else self.failures.get(g, "")}
        rows["all"] = {"customers": total, "weight": self.coverage, "alpha": np.nan, "beta": np.nan,
                       "converged": all(f.converged for f in self.fits.values()) and bool(self.fits),
                       "homogeneous": False, "period_churn": np.nan, "monthly_churn": self.monthly_churn,
                       "mrr": np.nan, "clv": self.clv, "verdict": self._mix_words()}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("billing_interval")


def fit_sbg_by_interval(lifetimes: pd.DataFrame, *, gross_margin: float, annual_discount_rate: float = 0.10,
                        mrr: Mapping[str, float] | float | None = None, min_customers: int = 20,
                        on_failure: OnFailure = "raise") -> IntervalChurnModel:
    """Fit one sBG per billing interval to first-spell lifetimes in renewal periods.

    Parameters
    ----------
    lifetimes
        ``billing_interval, periods, churned`` and optionally ``first_mrr`` per customer, as
        returned by :func:`kpilib.metrics.cohorts.interval_lifetimes`; or the same counted, with
        ``customers`` per row and ``first_mrr`` their sum (:func:`kpilib.metrics.cohorts.interval_counts`,
        :func:`kpilib.engine.lifetimes.engine_interval_counts`): the same model.
    gross_margin, annual_discount_rate
        For the CLV (10 % a year by default, as the monthly sBG CLV).
    mrr
        MRR per interval (or one figure for all) behind the CLV; by default the mean
        ``first_mrr`` of the interval's customers (the ARPA of new customers of that interval).
    min_customers
        Intervals with fewer customers are not fitted (listed in ``failures``).
    on_failure
        As in :func:`fit_sbg` for a fit that does not converge; a non-converged fit is never
        used silently: with ``"flag"`` it is kept, flagged, in the summary.
    """
    fits, weights, money, failures = {}, {}, {}, {}
    counted = "customers" in lifetimes
    for g, part in lifetimes.groupby("billing_interval", sort=False):
        _check_interval(g)
        n = int(part["customers"].sum()) if counted else len(part)
        weights[g] = float(n)
        if isinstance(mrr, Mapping):
            money[g] = float(mrr.get(g, np.nan))
        elif mrr is not None:
            money[g] = float(mrr)
        elif "first_mrr" not in part:
            money[g] = np.nan
        else:
            money[g] = float(part["first_mrr"].sum() / n) if counted else float(part["first_mrr"].mean())
        if n < min_customers:
            failures[g] = f"only {n} customers billed by the {g}: too few to fit"
            continue
        try:
            fits[g] = fit_sbg_lifetimes(part, interval=g, on_failure=on_failure)
        except ModelFitError as err:
            if "converge" in str(err):
                raise
            failures[g] = f"{g}ly billed customers: {err}"
    return IntervalChurnModel(fits=fits, weights=weights, mrr=money, gross_margin=float(gross_margin),
                              annual_discount_rate=float(annual_discount_rate), failures=failures)
