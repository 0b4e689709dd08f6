"""Cohort matrices, lifetimes and Kaplan-Meier against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpilib.metrics.cohorts import (
    cohort_survivors,
    cohorts,
    customer_lifetimes,
    km_survival,
    logo_retention,
    revenue_retention,
)

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


def _subs(rows):
    return pd.DataFrame(rows, columns=["customer_id", "start_date", "end_date", "amount", "billing_interval"]).assign(
        start_date=lambda d: pd.to_datetime(d["start_date"]), end_date=lambda d: pd.to_datetime(d["end_date"]))


def test_lifetimes_in_renewal_periods():
    """Hand-worked: months 2024-01 .. 2025-06 (18 month ends)."""
    cols = pd.period_range("2024-01", "2025-06", freq="M", name="month")
    subs = _subs([
        ("y1", "2024-01-15", "2025-01-15", 1200, "year"),      # one year, not renewed: 12 months, 1 period
        ("y2", "2024-01-10", "2025-01-10", 1200, "year"),      # renewed, then cancelled in year 2
        ("y2", "2025-01-10", "2025-03-10", 200, "year"),       # 14 months -> churned in period 2
        ("y3", "2024-01-01", None, 1200, "year"),              # still paying: 18 months, renewed once
        ("q1", "2024-01-05", "2024-07-05", 300, "quarter"),    # two quarters: 6 months, 2 periods
        ("m1", "2024-03-01", "2024-08-01", 10, "month"),       # Mar-Jul: 5 months
        ("m1", "2024-03-01", None, 1200, "year"),              # ... but an annual plan beside: year wins
        ("m2", "2024-02-01", "2024-05-01", 10, "month"),       # Feb-Apr: 3 months
        ("z", "2024-01-01", None, 0, "month"),                 # free: never paying
    ])
    from kpilib.metrics.mrr import MONTHS_PER_INTERVAL

    ids = ["y1", "y2", "y3", "q1", "m1", "m2", "z"]
    active = lambda s, day: (s["start_date"] <= day) & (s["end_date"].isna() | (s["end_date"] > day))  # noqa: E731
    wide = pd.DataFrame(0.0, index=pd.Index(ids, name="customer_id"), columns=cols)
    for m in cols:
        day = m.end_time.normalize()
        on = subs[active(subs, day)]
        mrr = (on["amount"] / on["billing_interval"].map(MONTHS_PER_INTERVAL)).groupby(on["customer_id"]).sum()
        wide.loc[mrr.index, m] = mrr
    from kpilib.metrics.cohorts import billing_intervals, interval_lifetimes

    assert billing_intervals(wide, subs).to_dict() == {"y1": "year", "y2": "year", "y3": "year", "q1": "quarter",
                                                       "m1": "year", "m2": "month"}
    lt = interval_lifetimes(wide, subs).set_index("customer_id")
    expected = {"y1": (12, 1, True), "y2": (14, 2, True), "y3": (18, 2, False), "q1": (6, 2, True),
                "m1": (16, 2, False), "m2": (3, 3, True)}
    got = {c: (int(r.duration), int(r.periods), bool(r.churned)) for c, r in lt.iterrows()}
    assert got == expected
    assert lt.loc["y1", "first_mrr"] == 100 and lt.loc["m2", "first_mrr"] == 10
    assert lt.loc["q1", "months_per_period"] == 3


def test_interval_lifetimes_of_an_empty_frame():
    from kpilib.metrics.cohorts import interval_lifetimes

    empty = pd.DataFrame(index=pd.Index(["a"], name="customer_id"),
                         columns=pd.PeriodIndex([], freq="M", name="month"), dtype=float)
    assert interval_lifetimes(empty, _subs([])).empty


@pytest.mark.parametrize("seed", range(5))
def test_first_spells_equal_those_read_from_the_aligned_matrix(seed):
    """Each first spell found on the calendar grid is the one read on the ages grid (row shifted to
    its cohort month, NaN beyond the data), the way the cohort matrices see it."""
    from kpilib.metrics.cohorts import _aligned

    rng = np.random.default_rng(seed)
    values = np.where(rng.random((300, 14)) < 0.6, rng.choice([0.0, 10.0, 25.5], (300, 14)), 0.0)
    values[:20] = 0.0  # customers who never paid
    wide = pd.DataFrame(values, index=pd.Index([f"c{i:03d}" for i in range(300)], name="customer_id"),
                        columns=pd.period_range("2024-01", periods=14, freq="M", name="month"))
    cohort, aligned = _aligned(wide, values)
    observed, stopped = ~np.isnan(aligned), ~np.isnan(aligned) & ~(aligned > 0)
    lt = customer_lifetimes(wide)
    assert lt["customer_id"].tolist() == cohort.index.tolist()
    assert lt["cohort"].tolist() == cohort.tolist()
    assert lt["churned"].tolist() == stopped.any(axis=1).tolist()
    expected = np.where(stopped.any(axis=1), stopped.argmax(axis=1), observed.sum(axis=1))
    assert lt["duration"].tolist() == expected.tolist()


def test_the_models_cohort_matrix_is_computed_once_and_each_caller_gets_its_own_copy():
    import kpilib as kpi
    from kpilib.metrics.cohorts import logo_retention
    from kpilib.report.model import COHORT_MONTHS, KpiModel

    model = KpiModel(kpi.load_dataset(None), "2025-12")
    first = model.cohort_matrix("logo")
    want = logo_retention(model.wide, max_age=12).loc[model.period.last - (COHORT_MONTHS - 1):]
    pd.testing.assert_frame_equal(first, want)
    first.iloc[:, :] = -1.0  # a caller that writes into its matrix changes nobody else's
    pd.testing.assert_frame_equal(model.cohort_matrix("logo"), want)
    assert len(model._cohort_matrices) == 1
    assert not model.cohort_matrix("revenue").equals(want)  # another kind: another matrix
