"""Dated exchange rates: MRR at each month's rate, currency moves as FX impact, never as expansion.

The hand-built book (base USD):

- customer a pays 100 EUR a month from 2025-01; adds 50 EUR a month from 2025-04; both end 2025-05-01;
- customer b pays 50 USD a month from 2025-02, open;
- EUR is 1.10 USD from 2025-01, 1.20 from 2025-02, 1.00 from 2025-04 (no rate for 2025-03: the
  February rate still holds).

Worked by hand, month by month (opening + FX impact + movements = closing):

| month | opening | FX impact | new | expansion | churn | closing |
|---|---|---|---|---|---|---|
| 2025-01 | 0 | 0 | 110 | 0 | 0 | 110 |
| 2025-02 | 110 | +10 (100 EUR from 1.10 to 1.20) | 50 | 0 | 0 | 170 |
| 2025-03 | 170 | 0 | 0 | 0 | 0 | 170 |
| 2025-04 | 170 | -20 (100 EUR from 1.20 to 1.00) | 0 | +50 (the add-on at 1.00) | 0 | 200 |
| 2025-05 | 200 | 0 | 0 | 0 | -150 | 50 |
"""

from __future__ import annotations

import pandas as pd
import pytest

import kpilib as kpi
from kpilib.data.currency import rates_at
from kpilib.metrics.mrr import customer_mrr_revalued
from kpilib.report.export import movement_rows

CUSTOMERS = pd.DataFrame({
    "customer_id": ["a", "b"], "name": ["Alpha", "Beta"], "segment": ["Enterprise", "SMB"],
    "region": ["EMEA", "NA"], "acquisition_channel": ["Events", "Events"],
    "created_at": pd.to_datetime(["2025-01-01", "2025-02-01"])})
SUBS = pd.DataFrame({
    "subscription_id": ["s1", "s2", "s3"], "customer_id": ["a", "a", "b"], "plan": ["Pro", "Add-on", "Starter"],
    "start_date": pd.to_datetime(["2025-01-01", "2025-04-01", "2025-02-01"]),
    "end_date": pd.to_datetime(["2025-05-01", "2025-05-01", None]),
    "amount": [100.0, 50.0, 50.0], "billing_interval": ["month"] * 3, "currency": ["EUR", "EUR", "USD"]})
RATES = pd.DataFrame({
    "currency": ["USD", "EUR", "EUR", "EUR"], "rate_to_base": [1.0, 1.10, 1.20, 1.00],
    "month": pd.PeriodIndex(["2025-01", "2025-01", "2025-02", "2025-04"], freq="M")})

EXPECTED = pd.DataFrame({
    "opening_mrr": [0.0, 110, 170, 170, 200], "fx_impact": [0.0, 10, 0, -20, 0],
    "new": [110.0, 50, 0, 0, 0], "expansion": [0.0, 0, 0, 50, 0], "reactivation": 0.0,
    "contraction": 0.0, "churn": [0.0, 0, 0, 0, -150], "closing_mrr": [110.0, 170, 170, 200, 50],
    "customers": [1, 2, 2, 2, 1]},
    index=pd.period_range("2025-01", "2025-05", freq="M", name="month"))


def test_the_bridge_by_hand_with_dated_rates():
    out = kpi.mrr_movements(SUBS, RATES, "2025-01", "2025-05")
    pd.testing.assert_frame_equal(out, EXPECTED, check_dtype=False, atol=1e-6)
    flows = out.drop(columns=["opening_mrr", "closing_mrr", "customers"]).sum(axis=1)
    assert ((out["opening_mrr"] + flows - out["closing_mrr"]).abs() < 1e-6).all()


def test_mrr_is_at_each_months_rate_and_revalued_at_the_next():
    wide = kpi.customer_mrr(SUBS, RATES, "2025-01", "2025-05")
    assert wide.loc["a"].tolist() == pytest.approx([110, 120, 120, 150, 0])
    revalued = customer_mrr_revalued(SUBS, RATES, "2025-01", "2025-05")
    assert revalued.loc["a"].tolist() == pytest.approx([120, 120, 100, 150, 0])  # each month at the next's rate
    assert revalued.loc["b"].tolist() == wide.loc["b"].tolist() == pytest.approx([0, 50, 50, 50, 50])


def test_rates_in_force_carry_forward_and_back():
    assert rates_at(RATES, pd.Period("2025-03", "M")).set_index("currency")["rate_to_base"]["EUR"] == 1.20
    assert rates_at(RATES, pd.Period("2024-06", "M")).set_index("currency")["rate_to_base"]["EUR"] == 1.10
    constant = RATES.drop(columns="month").drop_duplicates("currency")
    assert rates_at(constant, pd.Period("2025-03", "M")) is constant


def test_constant_rates_have_no_fx_row_and_a_flat_rate_table_gives_the_same_figures():
    flat = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.2]})
    constant = kpi.mrr_movements(SUBS, flat, "2025-01", "2025-05")
    assert "fx_impact" not in constant.columns
    dated = kpi.mrr_movements(SUBS, flat.assign(month=pd.Period("2025-01", "M")), "2025-01", "2025-05")
    assert (dated["fx_impact"] == 0).all()
    pd.testing.assert_frame_equal(dated.drop(columns="fx_impact"), constant, atol=1e-6)


def _model(period: str) -> kpi.KpiModel:
    ds = kpi.Dataset(tables={"customers": CUSTOMERS, "subscriptions": SUBS, "fx_rates": RATES},
                     source="hand-built", base_currency="USD")
    return kpi.KpiModel(ds, period)


def test_the_model_the_breakdowns_and_the_export_reconcile_every_month():
    model = _model("2025-Q2")  # April (FX -20, expansion +50) and May (churn -150)
    rev = model.revenue
    assert rev["fx_impact"] == pytest.approx(-20) and rev["expansion"] == pytest.approx(50)
    assert rev["opening_mrr"] == pytest.approx(170) and rev["mrr"] == pytest.approx(50)
    assert rev["net_new_mrr"] == pytest.approx(-100) and rev["unexplained"] == 0
    by_segment = model.breakdown("segment")
    assert by_segment["fx_impact"].to_dict() == pytest.approx({"Enterprise": -20.0, "SMB": 0.0})
    assert by_segment["expansion"].sum() == pytest.approx(50) and by_segment["churn"].sum() == pytest.approx(-150)
    assert by_segment["net_new_mrr"].sum() == pytest.approx(rev["net_new_mrr"])
    rows = movement_rows(model)
    change = (rows["mrr_after"] - rows["mrr_before"]).groupby(rows["movement"]).sum()
    assert change["expansion"] == pytest.approx(50) and change["churn"] == pytest.approx(-150)
    assert rows["fx_impact"].sum() == pytest.approx(-20)
    assert set(rows.loc[rows["customer_id"] == "b", "movement"]) == {"unchanged"}


def test_a_currency_move_alone_is_not_a_movement_in_the_what_changed_list():
    # February: a's 100 EUR goes from 1.10 to 1.20; only b's arrival is a movement
    moves = _model("2025-02").movers()
    assert moves["customer_id"].tolist() == ["b"] and moves["movement"].tolist() == ["new"]


def test_rates_dated_after_the_period_are_not_known_to_it():
    later = pd.concat([RATES, pd.DataFrame({"currency": ["EUR"], "rate_to_base": [2.0],
                                            "month": pd.PeriodIndex(["2025-07"], freq="M")})],
                      ignore_index=True)
    ds = kpi.Dataset(tables={"customers": CUSTOMERS, "subscriptions": SUBS, "fx_rates": later},
                     source="hand-built", base_currency="USD")
    assert kpi.KpiModel(ds, "2025-Q2").revenue["mrr"] == pytest.approx(50)
    assert kpi.KpiModel(ds, "2025-04").revenue["mrr"] == pytest.approx(200)
