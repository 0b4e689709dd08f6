"""Cohort matrices, lifetimes and Kaplan-Meier against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpilib._cohorts import (cohort_survivors, cohorts, customer_lifetimes, km_survival,
                             logo_retention, revenue_retention)

COLS = pd.period_range("2024-01", "2024-05", freq="M", name="month")


@pytest.fixture
def wide():
    # a: pays Jan-Feb, gone Mar-Apr, back in May (reactivation); b: from Feb, expands, churns May
    # c: never pays; d: Jan only
    return pd.DataFrame([[100, 100, 0, 0, 50], [0, 200, 300, 300, 0], [0, 0, 0, 0, 0], [50, 0, 0, 0, 0]],
                        index=pd.Index(list("abcd"), name="customer_id"), columns=COLS, dtype=float)


def test_cohort_is_first_paying_month(wide):
    assert cohorts(wide).to_dict() == {"a": COLS[0], "b": COLS[1], "d": COLS[0]}


def test_logo_retention(wide):
    m = logo_retention(wide)
    assert m.loc["2024-01", "customers"] == 2
    assert m.loc["2024-01", [0, 1, 2, 3, 4]].tolist() == [1.0, 0.5, 0.0, 0.0, 0.5]  # a back at age 4
    assert m.loc["2024-02", [0, 1, 2, 3]].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert np.isnan(m.loc["2024-02", 4])  # not yet observed, not 0 %


def test_revenue_retention_can_exceed_100_percent(wide):
    m = revenue_retention(wide)
    assert m.loc["2024-01", 1] == pytest.approx(100 / 150)
    assert m.loc["2024-01", 4] == pytest.approx(50 / 150)
    assert m.loc["2024-02", 1] == pytest.approx(1.5)


def test_by_segment(wide):
    m = logo_retention(wide, by=pd.Series({"a": "X", "b": "Y", "d": "Y"}, name="segment"))
    assert m.loc[("X", pd.Period("2024-01", "M")), 1] == 1.0
    assert m.loc[("Y", pd.Period("2024-01", "M")), 1] == 0.0
    assert m.loc[("Y", pd.Period("2024-02", "M")), "customers"] == 1


def test_lifetimes(wide):
    lt = customer_lifetimes(wide).set_index("customer_id")
    assert lt.loc["a", "duration"] == 2 and lt.loc["a", "churned"]
    assert lt.loc["b", "duration"] == 3 and lt.loc["b", "churned"]
    assert lt.loc["d", "duration"] == 1
    still = wide.assign(**{}).copy()
    still.loc["b", COLS[4]] = 10.0
    assert not customer_lifetimes(still).set_index("customer_id").loc["b", "churned"]


def test_kaplan_meier_matches_product_limit():
    lt = pd.DataFrame({"customer_id": list("abcdef"), "cohort": pd.Period("2024-01", "M"),
                       "duration": [1, 2, 2, 3, 4, 4], "churned": [True, True, False, True, False, True]})
    km = km_survival(lt).set_index("month")["survival"]
    # product limit: t=1: 5/6; t=2: 1 event of 5 at risk -> x 4/5; t=3: 1 of 3 -> x 2/3; t=4: 1 of 2 -> x 1/2
    s1 = 5 / 6
    s2 = s1 * 4 / 5
    s3 = s2 * 2 / 3
    s4 = s3 * 1 / 2
    assert km.loc[[1, 2, 3, 4]].tolist() == pytest.approx([s1, s2, s3, s4])
    band = km_survival(lt).set_index("month")
    assert (band["ci_lower"] <= band["survival"]).all() and (band["survival"] <= band["ci_upper"]).all()


def test_survivors_for_sbg(wide):
    lt = customer_lifetimes(wide)
    assert cohort_survivors(lt, COLS[0], COLS[1], 2) == [3, 2, 1]


def test_empty_frame_gives_empty_results():
    empty = pd.DataFrame(index=pd.Index(["a"], name="customer_id"),
                         columns=pd.PeriodIndex([], freq="M", name="month"), dtype=float)
    assert cohorts(empty).empty
    assert customer_lifetimes(empty).empty
