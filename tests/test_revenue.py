"""Revenue KPIs per period: hand-computed months, quarters and years, and the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpilib import KpiError, PeriodError, customer_mrr, mrr_movements, parse_period
from kpilib.metrics.mrr import movement_counts
from kpilib.metrics.revenue import (
    contract_values,
    monthly_equivalent,
    monthly_revenue,
    period_revenue,
    ratio,
    retention_rates,
    revenue_breakdown,
    revenue_summary,
    revenue_trend,
    rule_of_40,
)

from test_mrr import subs

M = pd.Period


@pytest.fixture
def book():
    # a: 100 from Oct, 150 from Dec;   b: 200 in Oct-Nov (ends Dec 1);   c: 50 from Nov 3
    # d: quarterly 240 (80/month) Jan-Mar 2024, back on Dec 10 at 80 (reactivation)
    # e: 60 from Jul, ends Nov 15 (last counted at the end of October)
    return subs(("a", "2024-10-01", "2024-12-01", 100, "month"), ("a", "2024-12-01", None, 150, "month"),
                ("b", "2024-10-01", "2024-12-01", 200, "month"), ("c", "2024-11-03", None, 50, "month"),
                ("d", "2024-01-01", "2024-04-01", 240, "quarter"), ("d", "2024-12-10", None, 80, "month"),
                ("e", "2024-07-01", "2024-11-15", 60, "month"))


@pytest.fixture
def monthly(book):
    return monthly_revenue(book, None, "2024-01", "2024-12")


def test_month(monthly):
    dec = period_revenue(monthly, parse_period("2024-12"))
    # Nov close: a 100 + b 200 + c 50 = 350, 3 customers; Dec: a 150 + c 50 + d 80 = 280
    assert dec.name == "2024-12"
    assert (dec["opening_mrr"], dec["mrr"], dec["arr"], dec["net_new_mrr"]) == (350, 280, 3360, -70)
    assert (dec["new"], dec["expansion"], dec["reactivation"], dec["contraction"], dec["churn"]) \
        == (0, 50, 80, 0, -200)
    assert (dec["opening_customers"], dec["customers"]) == (3, 3)
    assert (dec["expanded_customers"], dec["reactivated_customers"], dec["churned_customers"]) == (1, 1, 1)
    assert dec["arpa"] == pytest.approx(280 / 3)
    assert dec["mrr_growth"] == pytest.approx(-70 / 350)
    assert dec["mrr_cmgr"] == pytest.approx(-70 / 350)
    assert dec["quick_ratio"] == pytest.approx((50 + 80) / 200)
    assert dec["customer_churn_rate"] == pytest.approx(1 / 3)
    assert dec["gross_mrr_churn"] == pytest.approx(200 / 350)
    assert dec["net_mrr_churn"] == pytest.approx((200 - 50 - 80) / 350)
    assert dec["new_bookings_arr"] == 12 * 130
    assert math.isnan(dec["asp_new"])  # no new customers: undefined, not inf


def test_quarter_sums_flows_and_takes_stocks_at_the_ends(monthly):
    q4 = period_revenue(monthly, parse_period("2024-Q4"))
    # start (Sep close): e 60, 1 customer. Oct: new a 100 + b 200. Nov: new c 50, churn e -60.
    # Dec: expansion a +50, churn b -200, reactivation d +80. End: 280, 3 customers.
    assert q4.name == "2024-Q4"
    assert (q4["opening_mrr"], q4["opening_customers"], q4["mrr"], q4["customers"]) == (60, 1, 280, 3)
    assert (q4["new"], q4["expansion"], q4["reactivation"], q4["churn"]) == (350, 50, 80, -260)
    assert (q4["new_customers"], q4["churned_customers"]) == (3, 2)
    assert q4["asp_new"] == pytest.approx(350 / 3)
    assert q4["mrr_growth"] == pytest.approx(220 / 60)
    assert q4["mrr_cmgr"] == pytest.approx((280 / 60) ** (1 / 3) - 1)
    assert q4["quick_ratio"] == pytest.approx(480 / 260)
    # churned customers over the quarter / customers at its start: b was won inside Q4
    assert q4["customer_churn_rate"] == pytest.approx(2 / 1)
    assert q4["gross_mrr_churn"] == pytest.approx(260 / 60)
    assert q4["net_mrr_churn"] == pytest.approx((260 - 50 - 80) / 60)
    assert q4["new_bookings_arr"] == 12 * 480


def test_summary_from_separate_movements_and_counts(book, monthly):
    mov = mrr_movements(book, start="2024-10", end="2024-12")
    counts = movement_counts(book, start="2024-10", end="2024-12")
    got = revenue_summary(mov, counts, "2024-Q4")
    pd.testing.assert_series_equal(got, period_revenue(monthly, "2024-Q4"))


def test_a_month_range_equals_the_quarter(monthly):
    q4 = period_revenue(monthly, "2024-Q4")
    by_tuple = period_revenue(monthly, ("2024-10", "2024-12"))
    by_index = period_revenue(monthly, pd.period_range("2024-10", "2024-12", freq="M"))
    assert by_tuple.name == by_index.name == "2024-10..2024-12"
    pd.testing.assert_series_equal(by_tuple, q4, check_names=False)
    pd.testing.assert_series_equal(by_index, q4, check_names=False)


def test_months_not_covered_are_an_error(monthly):
    with pytest.raises(PeriodError, match="2025-01"):
        period_revenue(monthly, "2025-Q1")


def test_undefined_values_are_missing_never_inf(monthly):
    aug = period_revenue(monthly, "2024-08")  # only e pays; nothing moves
    assert aug["customers"] == 1 and aug["mrr"] == 60
    for key in ["asp_new", "quick_ratio"]:  # no new customers; neither gains nor losses
        assert math.isnan(aug[key]), key
    assert aug["customer_churn_rate"] == 0.0 and aug["gross_mrr_churn"] == 0.0
    jun = period_revenue(monthly, "2024-06")  # nobody pays at all
    for key in ["arpa", "asp_new", "mrr_growth", "mrr_cmgr", "quick_ratio",
                "customer_churn_rate", "gross_mrr_churn", "net_mrr_churn"]:
        assert math.isnan(jun[key]), key
    trend = revenue_trend(monthly, "month")
    assert not np.isinf(trend.to_numpy(dtype="float64")).any()


def test_quick_ratio_with_losses_only_is_zero(monthly):
    apr = period_revenue(monthly, "2024-04")  # d's quarter ends Apr 1: churn 80, no gains
    assert apr["churn"] == -80 and apr["quick_ratio"] == 0.0
    assert apr["mrr_cmgr"] == -1.0


def test_trend_by_quarter_matches_period(monthly):
    trend = revenue_trend(monthly, "quarter")
    assert list(trend.index) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert trend.index.name == "period"
    for label in trend.index:
        pd.testing.assert_series_equal(trend.loc[label], period_revenue(monthly, label))
    assert trend.loc["2024-Q2", "churned_customers"] == 1  # d's quarterly plan ended Apr 1
    assert trend.loc["2024-Q3", "new"] == 60  # e


def test_trend_leaves_out_partly_covered_periods(book):
    monthly = monthly_revenue(book, None, "2024-02", "2024-12")
    assert list(revenue_trend(monthly, "quarter").index) == ["2024-Q2", "2024-Q3", "2024-Q4"]
    assert revenue_trend(monthly, "year").empty
    full = monthly_revenue(book, None, "2024-01", "2024-12")
    year = revenue_trend(full, "year")
    assert list(year.index) == ["2024"]
    assert year.loc["2024", "new"] == 80 + 60 + 350  # d in Jan, e in Jul, a b c in Q4
    assert len(revenue_trend(full, "month")) == 12
    with pytest.raises(PeriodError):
        revenue_trend(full, "week")


def test_flows_add_up_across_kinds(monthly):
    months, years = revenue_trend(monthly, "month"), revenue_trend(monthly, "year")
    for col in ["new", "expansion", "reactivation", "contraction", "churn", "churned_customers"]:
        assert months[col].sum() == years[col].sum(), col
    assert years["mrr"].iloc[-1] == months["mrr"].iloc[-1]


def test_nrr_and_grr(book):
    wide = customer_mrr(book, end="2025-10")
    r = retention_rates(wide, M("2025-10", "M"))
    # cohort at the end of 2024-10: a 100, b 200, e 60 -> now a 150, b 0, e 0.
    # c (won later) and d (paying again, but not in the cohort) do not count.
    assert r["cohort_customers"] == 3 and r["cohort_mrr"] == 360
    assert r["nrr"] == pytest.approx(150 / 360)
    assert r["grr"] == pytest.approx(100 / 360)  # a capped at its 100
    assert math.isnan(retention_rates(wide, M("2024-06", "M"))["nrr"])  # 2023-06 outside the frame
    # d paid 80 at the end of 2024-03 and pays 80 again at 2025-03: retained, counted in full
    assert retention_rates(wide, "2025-03")[["nrr", "grr", "cohort_customers"]].tolist() == [1.0, 1.0, 1.0]

def test_nrr_can_exceed_100_percent_with_reactivation():
    df = subs(("a", "2024-01-01", "2024-06-01", 100, "month"), ("a", "2024-09-01", None, 130, "month"),
              ("b", "2024-01-01", None, 100, "month"))
    r = retention_rates(customer_mrr(df, end="2025-01"), "2025-01")
    assert r["nrr"] == pytest.approx(230 / 200) and r["grr"] == pytest.approx(200 / 200)


def test_summary_with_retention_and_rule_of_40(book, monthly):
    wide = customer_mrr(book, end="2025-10")
    fin = pd.DataFrame({"month": pd.period_range("2023-10", "2024-12", freq="M"), "revenue": 100.0,
                        "cogs": 10.0, "operating_expenses": 50.0})
    q4 = revenue_summary(monthly, None, "2024-Q4", wide=wide, financials=fin)
    pd.testing.assert_series_equal(q4[["nrr", "grr"]], retention_rates(wide, M("2024-12", "M"))[["nrr", "grr"]],
                                   check_names=False)
    assert q4["revenue_growth"] == 0.0 and q4["profit_margin"] == pytest.approx(0.4)
    assert q4["rule_of_40"] == pytest.approx(0.4)


def test_contract_values_with_terms_and_fees():
    df = subs(("a", "2024-03-05", None, 1200, "year", "EUR"), ("b", "2024-03-20", None, 100, "month"),
              ("c", "2024-03-31", None, 300, "quarter"), ("z", "2024-04-01", None, 999, "month"))
    df["term_months"] = pd.array([24, pd.NA, 6, 12], dtype="Int64")
    df["setup_fee"] = [500.0, float("nan"), float("nan"), 10.0]
    fx = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.1]})
    cv = contract_values(df, fx, parse_period("2024-03"))
    # a: MRR 110 USD x 24 + fee 550 = 3190, ACV 3190 / 2 years
    # b: no term -> 12 months assumed: 1200, ACV 1200.  c: 100 x 6 = 600 for half a year: ACV = TCV
    assert cv["contracts"] == 3 and cv["assumed_terms"] == 1
    assert cv["tcv"] == pytest.approx(3190 + 1200 + 600)
    assert cv["acv"] == pytest.approx(1595 + 1200 + 600)
    assert cv["setup_fees"] == pytest.approx(550)
    bare = contract_values(df.drop(columns=["term_months", "setup_fee"]), fx, "2024-03",
                           default_term_months=1)
    assert bare["tcv"] == pytest.approx(110 + 100 + 100) and bare["acv"] == pytest.approx(310)


def test_plan_changes_are_not_contracts_and_acv_never_exceeds_tcv():
    df = subs(("a", "2024-01-01", "2024-03-10", 100, "month", "USD", "Basic"),
              ("a", "2024-03-10", None, 300, "month", "USD", "Pro"),  # upgrade: a plan change
              ("b", "2024-03-01", "2024-03-15", 50, "month", "USD", "Basic"),
              ("b", "2024-03-15", None, 50, "month", "USD", "Basic"),  # same plan: a renewal
              ("c", "2024-03-20", None, 80, "month", "USD", "Basic"))  # a first subscription
    cv = contract_values(df, None, "2024-03", default_term_months=1)
    assert (cv["contracts"], cv["new_contracts"], cv["renewals"], cv["plan_changes"]) == (3, 2, 1, 1)
    assert cv["tcv"] == pytest.approx(50 + 50 + 80) and cv["acv"] <= cv["tcv"]


def test_rule_of_40():
    months = pd.period_range("2023-01", "2024-12", freq="M")
    fin = pd.DataFrame({"month": months, "revenue": [100.0] * 12 + [130.0] * 12,
                        "cogs": [20.0] * 24, "operating_expenses": [90.0] * 24})
    r = rule_of_40(fin, parse_period("2024"))
    assert r["revenue"] == 12 * 130 and r["revenue_year_ago"] == 12 * 100
    assert r["revenue_growth"] == pytest.approx(0.30)
    assert r["profit_margin"] == pytest.approx((130 - 20 - 90) / 130)
    assert r["rule_of_40"] == pytest.approx(0.30 + 20 / 130)
    assert r["gross_margin"] == pytest.approx(110 / 130)
    assert rule_of_40(fin, "2024-03")["revenue_growth"] == pytest.approx(0.30)
    assert math.isnan(rule_of_40(fin, parse_period("2023"))["rule_of_40"])  # no 2022 data
    zero = fin.assign(revenue=0.0)
    assert math.isnan(rule_of_40(zero, "2024")["profit_margin"])


def test_revenue_breakdown_by_segment_and_plan(book):
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                              "segment": ["SMB", "SMB", "Enterprise", "SMB", "Enterprise"]})
    seg = revenue_breakdown(book, None, customers, parse_period("2024-Q4"), "segment")
    # SMB: a 150 + d 80 = 230 (2 customers); Enterprise: c 50 (e churned in Nov)
    assert list(seg.index) == ["SMB", "Enterprise"] and seg.index.name == "segment"
    assert seg.loc["SMB", ["mrr", "customers", "new", "reactivation", "churn"]].tolist() \
        == [230, 2, 300, 80, -200]
    assert seg.loc["Enterprise", ["mrr", "net_new_mrr", "churn"]].tolist() == [50, -10, -60]
    assert seg["share"].sum() == pytest.approx(1.0) and seg.loc["SMB", "arpa"] == 115
    plan = revenue_breakdown(book, None, customers, "2024-Q4", "plan")
    assert plan.loc["P", "mrr"] == 280


def test_rows_without_a_group_are_a_group_of_their_own_and_an_unknown_column_is_refused(book):
    """Frames from outside the contract may leave a group empty: those customers' MRR and movements are
    one group labelled NaN, never credited to another group; the groups still add up to the company."""
    # Q4 2024 of ``book``: SMB = a (new 100 in Oct, +50 in Dec: 150); no segment = b (new 200 in Oct,
    # churned in Dec) and d (back in Dec at 80); Enterprise = c (new 50 in Nov) and e (60, churned in Nov)
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                              "segment": ["SMB", None, "Enterprise", None, "Enterprise"]})
    seg = revenue_breakdown(book, None, customers, "2024-Q4", "segment")
    assert seg.index[0] == "SMB" and pd.isna(seg.index[1]) and seg.index[2] == "Enterprise"
    assert seg["mrr"].tolist() == [150, 80, 50] and seg["customers"].tolist() == [1, 1, 1]
    assert seg["new"].tolist() == [100, 200, 50] and seg["reactivation"].tolist() == [0, 80, 0]
    assert seg["churn"].tolist() == [0, -200, -60] and seg["net_new_mrr"].tolist() == [150, 80, -10]
    full = revenue_breakdown(book, None, customers.assign(segment="all"), "2024-Q4", "segment").iloc[0]
    flows = ["mrr", "customers", "new", "reactivation", "expansion", "contraction", "churn", "net_new_mrr"]
    assert seg[flows].sum().tolist() == full[flows].tolist()
    with pytest.raises(KpiError, match="cannot break MRR down by 'industry'"):
        revenue_breakdown(book, None, customers, "2024-Q4", "industry")


def test_plan_moves_are_their_own_rows_and_groups_add_up_to_the_company():
    # a: Basic 100 -> Pro 300 on 10 March (an upgrade);  b: new on Basic 50 in March;
    # c: Pro 200 churns on 15 March;  d: Basic 80 -> Basic 60 (contraction inside its plan)
    df = subs(("a", "2024-01-01", "2024-03-10", 100, "month", "USD", "Basic"),
              ("a", "2024-03-10", None, 300, "month", "USD", "Pro"),
              ("b", "2024-03-05", None, 50, "month", "USD", "Basic"),
              ("c", "2024-01-01", "2024-03-15", 200, "month", "USD", "Pro"),
              ("d", "2024-01-01", "2024-03-01", 80, "month", "USD", "Basic"),
              ("d", "2024-03-01", None, 60, "month", "USD", "Basic"))
    customers = pd.DataFrame({"customer_id": list("abcd"), "segment": ["S"] * 4})
    plan = revenue_breakdown(df, None, customers, "2024-03", "plan")
    assert plan.loc["Basic", ["new", "moved_out", "contraction", "mrr"]].tolist() == [50, -100, -20, 110]
    assert plan.loc["Pro", ["moved_in", "churn", "new", "mrr"]].tolist() == [300, -200, 0, 300]
    company = period_revenue(monthly_revenue(df, None, "2024-01", "2024-03"), "2024-03")
    flows = plan[["new", "reactivation", "churn"]].sum()
    assert flows.tolist() == [company["new"], company["reactivation"], company["churn"]]  # 50, 0, -200
    moves = plan[["expansion", "contraction", "moved_in", "moved_out"]].sum().sum()
    assert moves == company["expansion"] + company["contraction"]  # a's +200 and d's -20
    assert plan["net_new_mrr"].sum() == company["net_new_mrr"] == 30


def test_ratio_rules():
    assert math.isnan(ratio(1, 0)) and math.isnan(ratio(0, 0)) and math.isnan(ratio(1, float("nan")))
    assert math.isnan(ratio(None, 2)) and ratio(1, 4) == 0.25 and ratio(0, 4) == 0.0
    # a loss of nothing, -(0.0) / opening, is 0 without a sign: "-0.0%" read as a sign error
    assert math.copysign(1, ratio(-0.0, 100)) == 1 and math.copysign(1, ratio(0.0, -5)) == 1


def test_monthly_equivalent():
    assert monthly_equivalent(1 - 0.9 ** 12, 12) == pytest.approx(0.1)
    assert monthly_equivalent(1.0, 3) == 1.0  # everyone lost: 100 % a month, not undefined
    assert math.isnan(monthly_equivalent(float("nan"), 3))


def test_the_bridge_adds_up_every_month_and_says_so(monthly):
    trend = revenue_trend(monthly, "month")
    assert (trend["unexplained"] == 0).all()
    assert (trend["opening_mrr"] + trend[["new", "expansion", "reactivation", "contraction", "churn"]].sum(axis=1)
            == trend["mrr"]).all()
