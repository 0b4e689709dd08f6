"""The accounts behind each movement: they sum to the bridge, and a long list is cut, said so."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from kpilib import KpiModel, load_dataset
from kpilib.metrics.funnel import funnel_counts
from kpilib.report.drill import (
    MOVEMENTS,
    churned_accounts,
    cohort_drills,
    funnel_drills,
    movement_accounts,
    movement_drilldown_html,
    nps_drills,
)
from kpilib.report.pages import STAGE_NAMES


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


def test_plans_worked_out_for_a_few_customers_are_theirs_among_all():
    from kpilib.report.drill import last_plans

    model = KpiModel(load_dataset("sample"), "2025-12")
    every = last_plans(model)
    few = [every.index[0], every.index[len(every) // 2], every.index[-1]]
    assert last_plans(model, [*few, "no such customer"]).equals(every.loc[few])


def _accounts(n: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "name": "<b>A & B</b>", "segment": "SMB",
                         "plans": "Pro", "cohort": "2025-01", "month": "2025-12", "tenure": 11,
                         "mrr_before": 0.0, "mrr_after": [float(n - i) for i in range(n)],
                         "change": [float(n - i) for i in range(n)], "movement": "new"})


def test_a_long_list_shows_the_largest_and_says_how_many_more():
    html = movement_drilldown_html(_accounts(12), pd.Series({"new": 78.0}), "EUR", limit=5)
    new = html.split('data-drill="expansion"')[0]
    assert new.count("<tr><td>") == 5 and "The first 5 of 12 are listed; all of them are in movements.csv" in new
    assert "New business: €78 from 12 customers" in new
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in new and "<b>A" not in new
    assert re.findall(r'class="kpi-change" data-value="([^"]+)"', new) == ["12.0", "11.0", "10.0", "9.0", "8.0"]


def test_a_movement_without_customers_says_so():
    html = movement_drilldown_html(_accounts(0), pd.Series(dtype=float), "USD")
    assert html.count("no customer") == 5 and "<table" not in html


def _ages(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text.split(", ")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@pytest.mark.parametrize("period", ["2025-12", "2025"])
def test_churned_accounts_are_the_churn_rates_numerator(sample, period):
    model = KpiModel(sample, period)
    churned = churned_accounts(model)
    assert len(churned) == model.customer_churn["lost_customers"] > 0
    wide = model.wide
    start = wide[model.period.first - 1]
    assert churned["mrr_before"].sum() == pytest.approx(start[churned["customer_id"]].sum())
    assert (wide.loc[churned["customer_id"], model.period.last] == 0).all()


def test_each_cohort_cell_is_the_share_of_its_listed_customers_paying_at_that_age(sample):
    model = KpiModel(sample, "2025-12")
    matrix = model.cohort_matrix("logo")
    drills = {d.key: d for d in cohort_drills(model, pd.PeriodIndex(matrix.index, freq="M"))}
    checked = 0
    for cohort, row in matrix.iterrows():
        members = drills[f"cohort-{cohort}"].rows
        assert len(members) == row["customers"]
        ages = [_ages(t) for t in members["paid_at_ages"]]
        for age in row.index.drop("customers"):
            if pd.notna(row[age]):
                assert sum(age in a for a in ages) / len(members) == pytest.approx(row[age]), (cohort, age)
                checked += 1
    assert checked > 50


@pytest.mark.parametrize("period", ["2025-12", "2025-Q4"])
def test_each_funnel_stage_lists_the_leads_it_counts(sample, period):
    model = KpiModel(sample, period)
    counts = funnel_counts(model.table("leads"), model.period, "cohort")["count"]
    drills = funnel_drills(model, STAGE_NAMES)
    assert [len(d.rows) for d in drills] == counts.tolist() and counts.iloc[0] > 0
    assert [d.total for d in drills] == counts.astype(float).tolist()
    won = drills[-1].rows  # the won stage: every lead's outcome is a deal won, in the reader's words
    assert set(won["outcome"]) == {"Deal won"}
    from kpilib.i18n import using

    with using("fr"):
        outcomes = set(funnel_drills(model, STAGE_NAMES)[0].rows["outcome"].dropna())  # open leads: none yet
    assert outcomes == {"Affaire gagnée", "Affaire perdue"}


def test_each_nps_group_lists_its_answers(sample):
    model = KpiModel(sample, "2025-11")  # a month pack reports the Q3 wave
    voice = model.voice("nps")
    drills = nps_drills(model)
    assert [len(d.rows) for d in drills] == [voice["promoters"], voice["passives"], voice["detractors"]]
    assert all("Q3 2025" in d.summary for d in drills)
    answered = pd.concat([d.rows for d in drills])["answered"]
    assert answered.max() <= "2025-09-30" and answered.min() >= "2025-07-01"
