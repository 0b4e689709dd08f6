"""Currency only changes money: every ratio, rate, month count and score is the same in any base
currency, every amount scales by one factor, and amounts are formatted for their currency."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import kpilib as kpi
from kpilib.data.currency import data_currency, in_base_currency
from kpilib.report.format import format_money, format_value
from kpilib.report.overview import headline_kpis


@pytest.fixture(scope="module")
def by_currency():
    return {c: kpi.load_dataset(None, base_currency=c) for c in ("USD", "EUR", "GBP")}


@pytest.mark.slow
@pytest.mark.parametrize("label", ["2025-12", "2025-Q3", "2024"])
def test_only_money_changes_with_the_base_currency(by_currency, label):
    usd = headline_kpis(kpi.KpiModel(by_currency["USD"], label)).set_index("kpi")
    rates = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}  # the sample's fx_rates: USD per unit
    for currency in ("EUR", "GBP"):
        other = headline_kpis(kpi.KpiModel(by_currency[currency], label)).set_index("kpi")
        for key, row in usd.iterrows():
            for col in ("value", "previous", "year_ago"):
                a, b = row[col], other.loc[key, col]
                if math.isnan(a):
                    assert math.isnan(b), (key, col)
                    continue
                expected = a / rates[currency] if row["unit"] == "money" else a
                assert b == pytest.approx(expected, rel=1e-9, abs=1e-9), (label, currency, key, col)
        assert (other["status"] == usd["status"]).all()


def test_spend_and_financials_convert_from_the_data_currency():
    fx = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.25]})
    assert data_currency(fx, "EUR") == "USD"  # the pivot quotes every rate
    assert data_currency(None, "EUR") == "EUR"
    spend = pd.DataFrame({"month": pd.PeriodIndex(["2025-01", "2025-01"], freq="M"), "channel": ["a", "b"],
                          "category": ["marketing", "sales"], "amount": [125.0, 100.0],
                          "currency": ["USD", "EUR"]})
    fin = pd.DataFrame({"month": pd.PeriodIndex(["2025-01"], freq="M"), "revenue": [250.0], "cogs": [25.0],
                        "operating_expenses": [50.0]})  # no currency column: the data currency, USD
    customers = pd.DataFrame({"customer_id": ["c"], "name": ["C"], "segment": ["S"], "region": ["R"],
                              "acquisition_channel": ["a"], "created_at": pd.to_datetime(["2025-01-01"])})
    subs = pd.DataFrame({"subscription_id": ["s"], "customer_id": ["c"], "plan": ["P"],
                         "start_date": pd.to_datetime(["2025-01-01"]), "end_date": pd.NaT, "amount": [10.0],
                         "billing_interval": ["month"], "currency": ["EUR"]})
    ds = kpi.Dataset(tables={"customers": customers, "subscriptions": subs, "fx_rates": fx,
                             "marketing_spend": spend, "financials": fin}, source="t", base_currency="EUR")
    out = in_base_currency(ds)
    assert out.tables["marketing_spend"]["amount"].tolist() == [100.0, 100.0]  # 125 USD = 100 EUR
    assert out.tables["financials"][["revenue", "cogs", "operating_expenses"]].iloc[0].tolist() == [200, 20, 40]
    again = in_base_currency(out)
    assert again.tables["marketing_spend"]["amount"].tolist() == [100.0, 100.0]  # idempotent
    assert spend["amount"].tolist() == [125.0, 100.0]  # input untouched


def test_a_spend_currency_without_a_rate_is_a_contract_error(tiny_dir):
    path = tiny_dir / "marketing_spend.csv"
    path.write_text("month,channel,category,amount,currency\n2024-01,Organic Search,marketing,500,JPY\n")
    with pytest.raises(kpi.ContractError) as err:
        kpi.load_dataset(str(tiny_dir))
    assert (err.value.table, err.value.column, err.value.rows) == ("marketing_spend", "currency", [2])


@pytest.mark.parametrize(("amount", "currency", "locale", "text"), [
    (1396447, "USD", "en_US", "$1,396,447"),
    (1396447, "EUR", "fr_FR", "1\u202f396\u202f447\u00a0€"),  # CLDR: narrow no-break space groups
    (1396447, "EUR", "it_IT", "1.396.447\u00a0€"),
    (1396447, "MYR", "ms_MY", "RM1,396,447"),
    (-6099.4, "USD", "en_US", "-$6,099"),
])
def test_money_is_formatted_for_its_currency_and_locale(amount, currency, locale, text):
    assert format_money(amount, currency, locale) == text


def test_no_hard_coded_dollar_in_pages():
    assert format_value(3126, "money", "EUR") == "€3,126"
    assert format_value(1_396_447, "money_short", "GBP") == "£1.4M"
    assert format_value(float("inf"), "money", "EUR") == "n/a"
    assert format_value(993.912447785, "money_short", "USD") == "$994"  # compact form rounds too
    assert format_value(36_688.7, "money_short", "USD") == "$36.7K"


def test_amounts_without_a_currency_need_one_pivot_rate(tiny_dir):
    """Spend without a currency column is in the data currency (the rate-1 currency): with no such
    rate its meaning would change with --base-currency, so the contract refuses it, naming the rows."""
    import csv

    with open(tiny_dir / "fx_rates.csv", "w", newline="") as f:
        csv.writer(f).writerows([["currency", "rate_to_base"], ["USD", "0.92"], ["EUR", "1.0"], ["GBP", "1.0"]])
    with pytest.raises(kpi.ContractError) as err:
        kpi.load_dataset(str(tiny_dir), base_currency="USD")
    e = err.value
    assert e.table == "leads" and e.column == "currency" and e.rows == [2]  # l2 has no amount
    assert "2 (EUR, GBP)" in str(e)
