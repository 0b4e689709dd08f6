"""CPL, CAC, CPA, payback, LTV and LTV:CAC on hand-computed cases, incl. undefined values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpilib import acquisition_costs, ltv, marketing_contribution, new_customers, parse_period, unit_economics
from kpilib.metrics.acquisition import channel_return
from kpilib.report.registry import KPIS

JAN = parse_period("2024-01")


@pytest.fixture
def spend():
    m = pd.Period("2024-01", "M")
    return pd.DataFrame({"month": [m, m, m, m, m - 1], "channel": ["Ads", "Ads", "SEO", "Events", "Ads"],
                         "category": ["marketing", "sales", "marketing", "marketing", "marketing"],
                         "amount": [1000.0, 500.0, 300.0, 200.0, 9999.0]})


@pytest.fixture
def customers():
    return pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "acquisition_channel": ["Ads", "Ads", "SEO", "Outbound"]})


def test_costs_per_channel_and_blended(spend, customers):
    first = pd.Series({"a": pd.Period("2024-01", "M"), "b": pd.Period("2024-01", "M"),
                       "c": pd.Period("2024-01", "M"), "d": pd.Period("2023-05", "M")})
    leads = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-03"] * 5 + ["2024-01-09"] * 2),
                          "channel": ["Ads"] * 5 + ["SEO"] * 2,
                          "closed_at": pd.to_datetime(["2024-01-20", "2024-01-21", None, None, None,
                                                       "2024-01-25", None]),
                          "outcome": ["won", "won", None, None, None, "won", None]})
    new = new_customers(first, customers, JAN)
    assert sorted(new["customer_id"]) == ["a", "b", "c"]
    costs = acquisition_costs(spend, leads, new, JAN)
    assert costs.loc["Ads", "cac"] == pytest.approx(1500 / 2)
    assert costs.loc["Ads", "cpl"] == pytest.approx(1000 / 5)
    assert costs.loc["SEO", "cac"] == pytest.approx(300 / 1)
    assert costs.loc["All channels", "cac"] == pytest.approx(2000 / 3)
    assert costs.loc["All channels", "cpa"] == pytest.approx(2000 / 3)
    # a channel with spend but no leads and no new customers: undefined, with reasons
    assert math.isnan(costs.loc["Events", "cpl"]) and math.isnan(costs.loc["Events", "cac"])
    assert math.isnan(costs.loc["Events", "cpa"])
    assert costs.loc["Events", "note"] == ("CAC undefined: no new customers; CPL undefined: spend but no leads; "
                                           "CPA undefined: spend but no deals won")
    assert costs.loc["SEO", "note"] == ""


def test_each_undefined_cost_ratio_gives_its_reason_in_the_pages_language():
    """CAC, CPL and CPA are each undefined for their own reason, and the note says every reason; a page
    translates it clause by clause."""
    from kpilib.i18n import using
    from kpilib.metrics.acquisition import _note
    from kpilib.report.pages import cost_note

    nothing = pd.Series({"new_customers": 0.0, "leads": 0.0, "won_deals": 0.0, "marketing": 10.0, "total": 30.0})
    assert _note(nothing) == ("CAC undefined: no new customers; CPL undefined: spend but no leads; "
                              "CPA undefined: spend but no deals won")
    won = nothing.copy()
    won["won_deals"] = 2.0
    assert _note(won) == "CAC undefined: no new customers; CPL undefined: spend but no leads"
    free = nothing.copy()
    free[["marketing", "total"]] = 0.0  # nothing spent: CPL and CPA are 0/0, only the missing customers said
    assert _note(free) == "CAC undefined: no new customers"
    with using("fr"):
        assert cost_note(_note(nothing)) == ("CAC non défini : aucun nouveau client ; CPL non défini : des dépenses "
                                             "mais aucun prospect ; CPA non défini : des dépenses mais aucune "
                                             "affaire gagnée")
    assert cost_note("") == "" and math.isnan(cost_note(float("nan")))  # no note: passed through as it is



def test_zero_new_customers_makes_cac_undefined_not_inf(spend, customers):
    new = new_customers(pd.Series(dtype="period[M]"), customers, JAN)
    costs = acquisition_costs(spend, None, new, JAN)
    assert math.isnan(costs.loc["All channels", "cac"])
    econ = unit_economics(cac=costs.loc["All channels", "cac"], arpa=100, new_arpa=80, gross_margin=0.8,
                          churn_6m=0.02)
    assert math.isnan(econ.loc["CAC", "value"]) and econ.loc["CAC", "note"] == "no new customers in the period"
    assert math.isnan(econ.loc["LTV:CAC", "value"])


def test_unit_economics_hand_computed():
    econ = unit_economics(cac=1000, arpa=100, new_arpa=80, gross_margin=0.8, churn_6m=0.02, sbg_clv=3500)
    # one basis: the ARPA of the new customers CAC bought, for payback and for LTV
    assert econ.loc["CAC payback (months)", "value"] == pytest.approx(1000 / (80 * 0.8))
    assert econ.loc["LTV (new-customer ARPA x margin / churn)", "value"] == pytest.approx(80 * 0.8 / 0.02)
    assert econ.loc["LTV:CAC", "value"] == pytest.approx(3.2)
    # the installed-base version beside it
    assert econ.loc["LTV on installed-base ARPA (beside)", "value"] == pytest.approx(100 * 0.8 / 0.02)
    assert econ.loc["LTV:CAC on installed-base ARPA (beside)", "value"] == pytest.approx(4.0)
    assert econ.loc["sBG CLV (per billing interval, acquisition mix)", "value"] == 3500


def test_zero_churn_makes_ltv_undefined():
    assert math.isnan(ltv(100, 0.8, 0.0))
    econ = unit_economics(cac=500, arpa=100, new_arpa=100, gross_margin=0.8, churn_6m=0.0)
    assert "no churn" in econ.loc["LTV (new-customer ARPA x margin / churn)", "note"]


@pytest.mark.parametrize(("x", "status"), [(3.0, "ok"), (2.99, "bad"), (float("nan"), "none")])
def test_ltv_cac_flag(x, status):
    assert KPIS["ltv_cac"].health(x, None).status == status


@pytest.mark.parametrize(("rate", "status"), [(0.015, "ok"), (0.02, "ok"), (0.03, "warn"), (0.05, "warn"),
                                              (0.06, "bad"), (float("nan"), "none")])
def test_churn_band(rate, status):
    assert KPIS["customer_churn_monthly"].health(rate, None).status == status


def test_marketing_contribution_and_return(customers, spend):
    mrr = pd.Series({"a": 100.0, "b": 50.0, "c": 30.0, "d": 20.0})
    share = marketing_contribution(mrr, customers, frozenset({"Ads", "SEO"}))
    assert share["share"] == pytest.approx(180 / 200)
    costs = pd.DataFrame({"total": [1500.0, 300.0, 200.0]}, index=["Ads", "SEO", "Events"])
    ret = channel_return(pd.Series({"Ads": 150.0, "SEO": 30.0}), costs)
    assert ret.loc["Ads", "return"] == pytest.approx(1800 / 1500)
    assert ret.loc["Events", "return"] == 0.0
    counted = channel_return(pd.Series({"Ads": 150.0, "SEO": 30.0}), costs, pd.Series({"Ads": 3, "SEO": 1}))
    assert counted["new_customers"].to_dict() == {"Ads": 3.0, "SEO": 1.0, "Events": 0.0}
    assert counted["return"].equals(ret["return"])


def test_unit_economics_before_any_data_is_undefined_not_a_crash(tiny_dir):
    from kpilib import dataset_unit_economics, load_dataset

    econ, _ = dataset_unit_economics(load_dataset(tiny_dir), parse_period("2020-01"))
    assert econ["value"].isna().all() or not np.isinf(econ["value"]).any()
    assert math.isnan(econ.loc["CAC", "value"]) and econ.loc["CAC", "note"]


def test_segment_filter_makes_cac_undefined_with_reason(tiny_dir):
    from kpilib import dataset_unit_economics, load_dataset

    econ, _ = dataset_unit_economics(load_dataset(tiny_dir).filter(segment="SMB"), parse_period("2024-01"))
    assert math.isnan(econ.loc["CAC", "value"])
    assert "not attributed to segments" in econ.loc["CAC", "note"]
