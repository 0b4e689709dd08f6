"""Revenue KPIs per period: hand-computed cases for months, quarters and edge cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpilib import customer_mrr, parse_period
from kpilib._revenue import (churn_status, contract_values, monthly_equivalent, monthly_revenue,
                             period_revenue, ratio, retention_rates, revenue_trend, rule_of_40)

from test_mrr import subs


@pytest.fixture
def book():
    # a: 100 from Oct, expands to 150 in Dec; b: 200 from Oct, churns end of Nov (end Dec 1)
    # c: new 50 in Nov; d: paid Jan-Mar 2024, back in Dec at 80 (reactivation)
    return subs(("a", "2024-10-01", "2024-12-01", 100, "month"), ("a", "2024-12-01", None, 150, "month"),
                ("b", "2024-10-01", "2024-12-01", 200, "month"), ("c", "2024-11-03", None, 50, "month"),
                ("d", "2024-01-01", "2024-04-01", 240, "quarter"), ("d", "2024-12-10", None, 80, "month"))


def test_month(book):
    monthly = monthly_revenue(book, None, pd.Period("2024-09", "M"), pd.Period("2024-12", "M"))
    dec = period_revenue(monthly, parse_period("2024-12"))
    # Nov close: a 100 + b 200 + c 50 = 350, 3 customers; Dec: a 150 + c 50 + d 80 = 280
    assert dec["opening_mrr"] == 350 and dec["mrr"] == 280 and dec["arr"] == 3360
    assert (dec["new"], dec["expansion"], dec["reactivation"], dec["churn"]) == (0, 50, 80, -200)
    assert dec["customers"] == 3 and dec["opening_customers"] == 3
    assert dec["customer_churn_rate"] == pytest.approx(1 / 3)
    assert dec["gross_mrr_churn"] == pytest.approx(200 / 350)
    assert dec["net_mrr_churn"] == pytest.approx((200 - 50 - 80) / 350)
    assert dec["quick_ratio"] == pytest.approx(130 / 200)
    assert dec["arpa"] == pytest.approx(280 / 3)
    assert dec["mrr_growth"] == pytest.approx(-70 / 350)
    assert math.isnan(dec["asp_new"])  # no new customers: undefined, not inf
    assert dec["new_bookings_arr"] == 12 * 130


def test_quarter_sums_flows_and_takes_stocks_at_the_end(book):
    monthly = monthly_revenue(book, None, pd.Period("2024-09", "M"), pd.Period("2024-12", "M"))
    q4 = period_revenue(monthly, parse_period("2024-Q4"))
    # Sep close: 0 paying. Oct: new a 100 + b 200; Nov: new c 50; Dec: as above
    assert q4["opening_mrr"] == 0 and q4["opening_customers"] == 0 and q4["mrr"] == 280
    assert q4["new"] == 350 and q4["new_customers"] == 3 and q4["churned_customers"] == 1
    assert math.isnan(q4["customer_churn_rate"])  # no customers at the quarter's start
    assert math.isnan(q4["mrr_growth"]) and math.isnan(q4["quick_ratio"]) is False
    assert q4["asp_new"] == pytest.approx(350 / 3)


def test_trend_by_quarter_matches_period(book):
    monthly = monthly_revenue(book, None, pd.Period("2024-01", "M"), pd.Period("2024-12", "M"))
    trend = revenue_trend(monthly, "quarter")
    assert list(trend.index) == ["2024-Q2", "2024-Q3", "2024-Q4"]
    assert trend.loc["2024-Q4", "mrr"] == 280
    assert trend.loc["2024-Q2", "churned_customers"] == 1  # d's quarterly plan ended Apr 1


def test_nrr_and_grr(book):
    wide = customer_mrr(book, end="2025-10")
    r = retention_rates(wide, pd.Period("2025-10", "M"))
    # cohort at 2024-10: a 100, b 200 -> now a 150, b 0
    assert r["cohort_customers"] == 2
    assert r["nrr"] == pytest.approx(150 / 300)
    assert r["grr"] == pytest.approx(100 / 300)
    assert math.isnan(retention_rates(wide, pd.Period("2023-01", "M"))["nrr"])


def test_contract_values_with_terms_and_fees():
    df = subs(("a", "2024-03-05", None, 1200, "year", "EUR"), ("b", "2024-03-20", None, 100, "month"))
    df["term_months"] = pd.array([24, pd.NA], dtype="Int64")
    df["setup_fee"] = [500.0, float("nan")]
    fx = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.1]})
    cv = contract_values(df, fx, parse_period("2024-03"))
    # a: MRR 110 USD x 24 + 550 fee; b: no term -> one billing interval: 100 x 1
    assert cv["contracts"] == 2
    assert cv["tcv"] == pytest.approx(110 * 24 + 550 + 100)
    assert cv["acv"] == pytest.approx(110 * 12 + 100 * 12)
    assert cv["setup_fees"] == pytest.approx(550)


def test_rule_of_40():
    months = pd.period_range("2023-01", "2024-12", freq="M")
    fin = pd.DataFrame({"month": months, "revenue": [100.0] * 12 + [130.0] * 12,
                        "cogs": [20.0] * 24, "operating_expenses": [90.0] * 24})
    r = rule_of_40(fin, parse_period("2024"))
    assert r["revenue_growth"] == pytest.approx(0.30)
    assert r["profit_margin"] == pytest.approx((130 - 20 - 90) / 130)
    assert r["rule_of_40"] == pytest.approx(0.30 + 20 / 130)
    assert r["gross_margin"] == pytest.approx(110 / 130)
    assert math.isnan(rule_of_40(fin, parse_period("2023"))["rule_of_40"])  # no 2022 data


def test_undefined_ratios_are_nan_never_inf():
    assert math.isnan(ratio(1, 0)) and math.isnan(ratio(0, 0)) and math.isnan(ratio(1, float("nan")))
    assert ratio(1, 4) == 0.25


@pytest.mark.parametrize(("rate", "months", "status"), [
    (0.015, 1, "ok"), (0.03, 1, "warn"), (0.06, 1, "bad"), (float("nan"), 1, "none"),
    (1 - 0.99 ** 3, 3, "ok"), (1 - 0.94 ** 3, 3, "bad")])
def test_churn_health(rate, months, status):
    assert churn_status(rate, months) == status


def test_monthly_equivalent():
    assert monthly_equivalent(1 - 0.9 ** 12, 12) == pytest.approx(0.1)
