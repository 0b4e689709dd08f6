"""The accounts behind each movement: they sum to the bridge, and a long list is cut, said so."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from kpilib import KpiModel, load_dataset
from kpilib.report.drill import MOVEMENTS, movement_accounts, movement_drilldown_html


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample")


@pytest.mark.parametrize("period", ["2025-12", "2025-Q4", "2025"])
def test_the_lists_sum_to_the_bridge_for_a_month_a_quarter_and_a_year(sample, period):
    model = KpiModel(sample, period)
    accounts = movement_accounts(model)
    sums = accounts.groupby("movement")["change"].sum()
    for movement in MOVEMENTS:
        assert sums.get(movement, 0.0) == pytest.approx(float(model.revenue[movement]), abs=0.005), movement
    assert set(accounts["movement"]) <= set(MOVEMENTS)  # unchanged customers are not listed
    assert (accounts["tenure"].dropna() >= 0).all()
    new = accounts[accounts["movement"] == "new"]
    assert (new["mrr_before"] == 0).all() and (new["tenure"] == 0).all()  # new: first paid month


def _accounts(n: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "name": "<b>A & B</b>", "segment": "SMB",
                         "plans": "Pro", "cohort": "2025-01", "month": "2025-12", "tenure": 11,
                         "mrr_before": 0.0, "mrr_after": [float(n - i) for i in range(n)],
                         "change": [float(n - i) for i in range(n)], "movement": "new"})


def test_a_long_list_shows_the_largest_and_says_how_many_more():
    html = movement_drilldown_html(_accounts(12), pd.Series({"new": 78.0}), "EUR", limit=5)
    new = html.split('data-movement="expansion"')[0]
    assert new.count("<tr><td>") == 5 and "The 5 largest of 12 are listed" in new
    assert "New business: €78 from 12 customers" in new
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in new and "<b>A" not in new
    assert re.findall(r'class="kpi-change" data-value="([^"]+)"', new) == ["12.0", "11.0", "10.0", "9.0", "8.0"]


def test_a_movement_without_customers_says_so():
    html = movement_drilldown_html(_accounts(0), pd.Series(dtype=float), "USD")
    assert html.count("no customer") == 5 and "<table" not in html
