"""Every amount in one base currency: the rule that currency only changes money.

Subscriptions carry a ``currency`` per row; leads, marketing spend and financials may carry one
too. Where they do not, their amounts are in the **data currency**: the fx_rates currency whose
rate is 1 (the pivot the rates are quoted against), or the base currency when there is no
fx_rates table. An amount converts to the base currency as

    amount x rate[currency] / rate[base currency]

(constant-currency rates, the same rule as subscriptions' MRR in :mod:`kpilib.metrics.mrr`). So every
ratio, rate, month count and score is the same whatever the base currency, and every amount
scales by one factor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import ContractError
from .dataset import Dataset

#: Money columns converted here, per table (subscriptions convert in kpilib.metrics.mrr).
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("amount",),
    "marketing_spend": ("amount",),
    "financials": ("revenue", "cogs", "operating_expenses"),
}


def data_currency(fx_rates: pd.DataFrame | None, base_currency: str) -> str:
    """The currency of amounts that name none: the fx_rates pivot (rate 1), else the base currency."""
    if fx_rates is None:
        return base_currency
    pivots = fx_rates.loc[np.isclose(fx_rates["rate_to_base"].astype(float), 1.0), "currency"].tolist()
    return pivots[0] if len(pivots) == 1 else base_currency


def factors(currencies: pd.Series, fx_rates: pd.DataFrame | None, base_currency: str) -> np.ndarray:
    """Base-currency units per unit of each row's currency."""
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
        factor = factors(currencies, fx, base)
        if np.all(factor == 1.0):
            continue
        df = df.copy()
        for column in columns:
            if column in df.columns:
                df[column] = df[column].astype("float64") * factor
        df["currency"] = base
        tables[name] = df
    return replace(dataset, tables=tables)
