"""Monthly recurring revenue per customer and its movements.

Definitions (normative; see docs/metrics.md):

- A subscription row is active on day *d* when ``start_date <= d < end_date``
  (an empty ``end_date`` means open).
- Row MRR = ``amount / months(billing_interval)`` (month 1, quarter 3, year 12),
  converted at the fixed ``fx_rates`` rate (constant currency).
- A customer's MRR for month *M* is the sum over its rows active on the last day of *M*.

Implementation: every row adds its MRR at its first active month and removes it
after its last one (a difference array over a dense keys x months grid), summed
with ``np.bincount`` and accumulated with ``cumsum``. Money is carried in integer
micro-units so that "back to zero" is exactly zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MONTHS_PER_INTERVAL = {"month": 1, "quarter": 3, "year": 12}
MICROS = 1_000_000
MOVEMENT_COLUMNS = ["opening_mrr", "new", "expansion", "reactivation", "contraction", "churn",
                    "closing_mrr", "customers"]
COUNT_COLUMNS = ["new_customers", "expansion_customers", "reactivated_customers",
                 "contraction_customers", "churned_customers"]


def _month_code(p: pd.Period | str) -> int:
    p = pd.Period(p, freq="M")
    return p.year * 12 + p.month - 1


def _code_to_period(codes: np.ndarray) -> pd.PeriodIndex:
    return pd.PeriodIndex.from_fields(year=codes // 12, month=codes % 12 + 1, freq="M")


def row_mrr(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None,
            base_currency: str = "USD") -> pd.Series:
    """MRR of each subscription row in the base currency (float, not rounded)."""
    months = subscriptions["billing_interval"].map(MONTHS_PER_INTERVAL).astype("float64")
    mrr = subscriptions["amount"].astype("float64") / months
    if fx_rates is not None:
        rates = fx_rates.set_index("currency")["rate_to_base"].astype("float64")
        mrr = mrr * subscriptions["currency"].map(rates).astype("float64") / float(rates[base_currency])
    return mrr


def _grid(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None, base_currency: str,
          keys: pd.Series, end: int | None) -> tuple[pd.Index, int, np.ndarray]:
    """Dense integer-micro MRR grid (keys x months from the first start to ``end``)."""
    start_codes = (subscriptions["start_date"].dt.year.to_numpy() * 12
                   + subscriptions["start_date"].dt.month.to_numpy() - 1).astype(np.int64)
    end_dates = subscriptions["end_date"]
    has_end = end_dates.notna().to_numpy()
    end_codes = np.where(has_end, end_dates.dt.year.fillna(0).to_numpy() * 12
                         + end_dates.dt.month.fillna(1).to_numpy() - 1, 0).astype(np.int64)
    first = int(start_codes.min()) if len(start_codes) else 0
    if end is None:
        candidates = [start_codes.max()] if len(start_codes) else [first]
        if has_end.any():
            candidates.append(end_codes[has_end].max())
        end = int(max(candidates))
    n_months = max(end - first + 1, 1)
    # rows stop counting at month(end_date): that month's last day is not before end_date
    stop = np.where(has_end, end_codes, end + 1)
    lo = np.clip(start_codes - first, 0, n_months)
    hi = np.clip(stop - first, 0, n_months)
    live = hi > lo
    micros = np.rint(row_mrr(subscriptions, fx_rates, base_currency).to_numpy() * MICROS).astype(np.int64)
    codes, uniques = pd.factorize(keys, sort=True)
    k = len(uniques)
    width = n_months + 1
    diff = np.zeros(k * width, dtype=np.int64)
    np.add.at(diff, codes[live] * width + lo[live], micros[live])
    np.add.at(diff, codes[live] * width + hi[live], -micros[live])
    grid = np.cumsum(diff.reshape(k, width), axis=1)[:, :n_months]
    return pd.Index(uniques), first, grid


def _window(first: int, n_months: int, start, end) -> tuple[int, int]:
    lo = first if start is None else _month_code(start)
    hi = first + n_months - 1 if end is None else _month_code(end)
    return lo, hi


def customer_mrr(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None,
                 start: str | pd.Period | None = None, end: str | pd.Period | None = None, *,
                 base_currency: str = "USD") -> pd.DataFrame:
    """Each customer's MRR at each month end.

    Returns
    -------
    DataFrame
        Index ``customer_id``; columns a ``PeriodIndex`` of months named ``month``
        (default: the first month with a subscription start to the latest start or end);
        values MRR in the base currency, 0.0 when not paying.
    """
    end_code = None if end is None else _month_code(end)
    ids, first, grid = _grid(subscriptions, fx_rates, base_currency, subscriptions["customer_id"],
                             end_code)
    lo, hi = _window(first, grid.shape[1], start, end)
    cols = np.arange(lo, hi + 1)
    idx = cols - first
    inside = (idx >= 0) & (idx < grid.shape[1])
    values = np.zeros((len(ids), len(cols)), dtype=np.int64)
    values[:, inside] = grid[:, idx[inside]]
    return pd.DataFrame(values / MICROS, index=pd.Index(ids, name="customer_id"),
                        columns=_code_to_period(cols).rename("month"))


def _movements_from_grid(grid: np.ndarray, first: int, lo: int, hi: int) -> pd.DataFrame:
    """Movement sums and counts for months lo..hi from a micro-unit grid starting at ``first``."""
    k = grid.shape[0]
    # pad so that months before the data are 0 and months after are carried through
    cols = np.arange(lo - 1, hi + 1) - first
    before = cols < 0
    full = np.zeros((k, len(cols)), dtype=np.int64)
    inside = ~before & (cols < grid.shape[1])
    full[:, inside] = grid[:, cols[inside]]
    ever = np.zeros((k, len(cols)), dtype=bool)  # paying at some month end strictly before
    paid_before_window = (grid[:, : max(min(cols[0], grid.shape[1]), 0)] > 0).any(axis=1) \
        if cols[0] > 0 else np.zeros(k, dtype=bool)
    running = paid_before_window.copy()
    for j in range(len(cols)):
        ever[:, j] = running
        running |= full[:, j] > 0
    prev, cur = full[:, :-1], full[:, 1:]
    had_before = ever[:, 1:]  # paid at a month end before the previous one, or the previous one
    p_on, c_on = prev > 0, cur > 0
    start_mask = ~p_on & c_on
    new = start_mask & ~had_before
    react = start_mask & had_before
    exp = p_on & c_on & (cur > prev)
    con = p_on & c_on & (cur < prev)
    churn = p_on & ~c_on
    delta = cur - prev

    def total(mask, values):
        return (np.where(mask, values, 0).sum(axis=0)) / MICROS

    out = pd.DataFrame({
        "opening_mrr": prev.sum(axis=0) / MICROS,
        "new": total(new, cur),
        "expansion": total(exp, delta),
        "reactivation": total(react, cur),
        "contraction": total(con, delta),
        "churn": total(churn, -prev),
        "closing_mrr": cur.sum(axis=0) / MICROS,
        "customers": c_on.sum(axis=0).astype(np.int64),
        "new_customers": new.sum(axis=0).astype(np.int64),
        "expansion_customers": exp.sum(axis=0).astype(np.int64),
        "reactivated_customers": react.sum(axis=0).astype(np.int64),
        "contraction_customers": con.sum(axis=0).astype(np.int64),
        "churned_customers": churn.sum(axis=0).astype(np.int64),
    }, index=_code_to_period(np.arange(lo, hi + 1)).rename("month"))
    return out


def _movements_full(subscriptions, fx_rates, start, end, base_currency, by) -> pd.DataFrame:
    end_code = None if end is None else _month_code(end)
    if by is None:
        keys = subscriptions["customer_id"]
        _, first, grid = _grid(subscriptions, fx_rates, base_currency, keys, end_code)
        lo, hi = _window(first, grid.shape[1], start, end)
        return _movements_from_grid(grid, first, lo, hi)
    groups = subscriptions[by] if isinstance(by, str) else subscriptions["customer_id"].map(by)
    if groups.isna().any():
        groups = groups.astype("object").where(groups.notna(), "(none)")
    groups = groups.astype("str")
    keys = groups + "\x1f" + subscriptions["customer_id"].astype("str")
    keys_index, first, grid = _grid(subscriptions, fx_rates, base_currency, keys, end_code)
    lo, hi = _window(first, grid.shape[1], start, end)
    key_groups = np.array([k.split("\x1f", 1)[0] for k in keys_index])
    frames = {}
    for g in sorted(set(key_groups)):
        frames[g] = _movements_from_grid(grid[key_groups == g], first, lo, hi)
    name = by if isinstance(by, str) else (by.name or "group")
    return pd.concat(frames, names=[name, "month"])


def mrr_movements(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None,
                  start: str | pd.Period | None = None, end: str | pd.Period | None = None, *,
                  base_currency: str = "USD", by: str | pd.Series | None = None) -> pd.DataFrame:
    """MRR movements per month: opening + new + expansion + reactivation + contraction + churn = closing.

    Parameters
    ----------
    subscriptions, fx_rates
        Contract tables (``fx_rates`` None: amounts already in the base currency).
    start, end
        First and last month reported (``'YYYY-MM'`` or Period). History before
        ``start`` still counts: a customer paying before the window is never "new" in it.
    by
        Optional breakdown: a subscriptions column (e.g. ``"plan"``) or a Series
        mapping customer_id to a group (e.g. segment). Movements are then computed
        per (group, customer): a plan switch is churn in one plan and new in the other.

    Returns
    -------
    DataFrame
        Index ``month`` (Period[M]) — or (group, month) with ``by`` — and columns
        ``opening_mrr, new, expansion, reactivation, contraction, churn, closing_mrr,
        customers``. Contraction and churn are negative; customers counts MRR > 0.

    Notes
    -----
    new: 0 -> >0 and never >0 at any earlier month end. reactivation: 0 -> >0 after
    having been >0 at some earlier month end, however long ago. expansion/contraction:
    >0 in both months, up/down. churn: >0 -> 0 (minus the previous MRR).
    """
    return _movements_full(subscriptions, fx_rates, start, end, base_currency, by)[MOVEMENT_COLUMNS]


def movement_counts(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None,
                    start: str | pd.Period | None = None, end: str | pd.Period | None = None, *,
                    base_currency: str = "USD", by: str | pd.Series | None = None) -> pd.DataFrame:
    """Customers per movement and month: ``new_customers, expansion_customers,
    reactivated_customers, contraction_customers, churned_customers`` plus ``customers``
    (paying at month end) — the denominators and numerators of churn rates."""
    full = _movements_full(subscriptions, fx_rates, start, end, base_currency, by)
    return full[["customers", *COUNT_COLUMNS]]
