"""Every amount in one base currency: the rule that currency only changes money.

Subscriptions carry a ``currency`` per row; leads, marketing spend and financials may carry one
too. Where they do not, their amounts are in the **data currency**: the fx_rates currency whose
rate is 1 (the pivot the rates are quoted against), or the base currency when there is no
fx_rates table. An amount converts to the base currency as

    amount x rate[currency] / rate[base currency]

(constant-currency rates, the same rule as subscriptions' MRR in :mod:`kpilib.metrics.mrr`). So every
ratio, rate, month count and score is the same whatever the base currency, and every amount
scales by one factor.

**Dated rates.** An fx_rates table with a ``month`` column holds rates that apply from their month
until the currency's next rate; a month before a currency's first rate takes that first rate
(:func:`rates_at`). An amount then converts at the rate of its own month (leads: the month the
lead was created; spend and financials: their month), and MRR at each month end's rate (with the
currency moves reported as FX impact, :mod:`kpilib.metrics.mrr`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import ContractError
from ..i18n import _
from .dataset import Dataset

#: Money columns converted here, per table (subscriptions convert in kpilib.metrics.mrr).
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("amount",),
    "marketing_spend": ("amount",),
    "financials": ("revenue", "cogs", "operating_expenses"),
}


def is_dated(fx_rates: pd.DataFrame | None) -> bool:
    """True when the rates carry a ``month``: each month then has its own rates."""
    return fx_rates is not None and "month" in fx_rates.columns


def rate_schedule(fx_rates: pd.DataFrame) -> Callable[[pd.Period], pd.DataFrame]:
    """``month -> constant rate table`` for dated rates, built once: per currency, its rate of the
    latest month at or before ``month``, else its earliest rate."""
    grid = (fx_rates.pivot(index="month", columns="currency", values="rate_to_base")
            .sort_index().ffill().bfill().astype("float64"))
    months = pd.PeriodIndex(grid.index, freq="M")
    currencies = grid.columns.to_numpy()

    def at(month: pd.Period) -> pd.DataFrame:
        row = max(int(months.searchsorted(month, side="right")) - 1, 0)
        return pd.DataFrame({"currency": currencies, "rate_to_base": grid.to_numpy()[row]})
    return at


def rates_at(fx_rates: pd.DataFrame | None, month: pd.Period) -> pd.DataFrame | None:
    """The constant rate table in force in ``month`` (see :func:`rate_schedule`). Constant tables
    are returned as they are."""
    if not is_dated(fx_rates):
        return fx_rates
    assert fx_rates is not None
    return rate_schedule(fx_rates)(month)


def rate_basis(fx_rates: pd.DataFrame | None) -> str:
    """How amounts were converted, in words for the pages (in the reader's language)."""
    if is_dated(fx_rates):
        return _("at each month's exchange rates (currency moves shown as FX impact)")
    return _("at constant exchange rates")


def data_currency(fx_rates: pd.DataFrame | None, base_currency: str) -> str:
    """The currency of amounts that name none: the fx_rates pivot (rate 1 in every row), else the
    base currency."""
    if fx_rates is None:
        return base_currency
    one = pd.Series(np.isclose(fx_rates["rate_to_base"].astype(float), 1.0), index=fx_rates.index)
    always = one.groupby(fx_rates["currency"]).all()
    pivots = always[always].index.tolist()
    return pivots[0] if len(pivots) == 1 else base_currency


def dated_factors(currencies: pd.Series, months: pd.Series, fx_rates: pd.DataFrame | None,
                  base_currency: str) -> np.ndarray:
    """Base-currency units per unit of each row's currency, at the rates of the row's month
    (:func:`rates_at`); with constant rates, :func:`factors`."""
    if not is_dated(fx_rates):
        return factors(currencies, fx_rates, base_currency)
    out = np.empty(len(currencies), dtype="float64")
    months = months.reset_index(drop=True)
    values = currencies.reset_index(drop=True)
    schedule = rate_schedule(fx_rates)
    for month, rows in months.groupby(months, sort=True).groups.items():
        out[np.asarray(rows)] = factors(values.loc[rows], schedule(month), base_currency)
    return out


def factors(currencies: pd.Series, fx_rates: pd.DataFrame | None, base_currency: str) -> np.ndarray:
    """Base-currency units per unit of each row's currency (constant rates)."""
    if fx_rates is None:
        if not (currencies == base_currency).all():
            raise ContractError("fx_rates", None, f"amounts not in {base_currency} need an fx_rates table")
        return np.ones(len(currencies))
    rates = fx_rates.set_index("currency")["rate_to_base"].astype(float)
    missing = ~currencies.isin(rates.index)
    if missing.any():
        raise ContractError("fx_rates", "currency",
                            f"no rate for {', '.join(sorted(set(currencies[missing])))}")
    return currencies.map(rates).to_numpy(dtype=float) / float(rates[base_currency])


def in_base_currency(dataset: Dataset) -> Dataset:
    """The dataset with every amount of leads, marketing spend and financials in the base currency.

    Idempotent: a converted table's ``currency`` column is set to the base currency, so a
    second pass changes nothing. Subscriptions are left as they are (their MRR converts row by row).
    """
    base, fx = dataset.base_currency, dataset.fx_rates
    default = data_currency(fx, base)
    tables = dict(dataset.tables)
    for name, columns in MONEY_COLUMNS.items():
        df = tables.get(name)
        if df is None or df.empty:
            continue
        currencies = df["currency"].fillna(default) if "currency" in df.columns else \
            pd.Series(default, index=df.index)
        if (currencies == base).all():  # already converted (rates are > 0: the factor is 1): a model of
            continue                    # another period re-reads its converted source, 1.3M leads at 100 copies
        factor = dated_factors(currencies, _row_months(name, df), fx, base)
        if np.all(factor == 1.0):
            continue
        df = df.copy()
        for column in columns:
            if column in df.columns:
                df[column] = df[column].astype("float64") * factor
        df["currency"] = base
        tables[name] = df
    return replace(dataset, tables=tables)


#: the month an amount of each table converts at, with dated rates
_AMOUNT_MONTH = {"leads": "created_at", "marketing_spend": "month", "financials": "month"}


def _row_months(name: str, df: pd.DataFrame) -> pd.Series:
    column = df[_AMOUNT_MONTH[name]]
    if isinstance(column.dtype, pd.PeriodDtype):
        return column
    return pd.to_datetime(column).dt.to_period("M")
