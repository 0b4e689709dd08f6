"""MRR and movements: hand-computed cases, a naive second implementation, properties,
and conformance with the dbt-labs/mrr-playbook reference figures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpilib import customer_mrr, mrr_movements
from kpilib._mrr import movement_counts

T = pd.Timestamp
NaT = pd.NaT
FX = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_base": [1.0, 1.1]})
def _reference_dir() -> Path:
    """shared/reference/mrr_playbook beside the checkout (as in CI), or KPI_REFERENCE_DIR."""
    candidates = [Path(os.environ["KPI_REFERENCE_DIR"])] if os.environ.get("KPI_REFERENCE_DIR") else []
    here = Path(__file__).resolve()
    candidates += [parent / "shared" / "reference" for parent in here.parents[1:4]]
    candidates.append(Path("/work/shared/reference"))
    return next((c / "mrr_playbook" for c in candidates if (c / "mrr_playbook").is_dir()),
                candidates[0] / "mrr_playbook")


REFERENCE = _reference_dir()


def subs(*rows) -> pd.DataFrame:
    """rows: (customer, start, end, amount, interval[, currency])"""
    out = []
    for i, r in enumerate(rows):
        cust, start, end, amount, interval, *cur = r
        out.append({"subscription_id": f"s{i}", "customer_id": cust, "plan": "P",
                    "start_date": T(start), "end_date": T(end) if end else NaT, "amount": float(amount),
                    "billing_interval": interval, "currency": cur[0] if cur else "USD"})
    df = pd.DataFrame(out)
    df["end_date"] = pd.to_datetime(df["end_date"])
    return df


def mrr_of(df, month, customer="a", fx=None):
    return customer_mrr(df, fx, end=month).loc[customer, pd.Period(month, "M")]


def test_annual_and_quarterly_plans_spread_over_months():
    df = subs(("a", "2024-01-01", None, 1200, "year"), ("b", "2024-01-01", None, 300, "quarter"))
    wide = customer_mrr(df, end="2024-03")
    assert wide.loc["a"].tolist() == [100.0, 100.0, 100.0]
    assert wide.loc["b"].tolist() == [100.0, 100.0, 100.0]


def test_mid_month_start_counts_at_month_end():
    df = subs(("a", "2024-01-15", None, 90, "month"))
    assert mrr_of(df, "2024-01") == 90.0
    mov = mrr_movements(df, start="2024-01", end="2024-01")
    assert mov.loc["2024-01", "new"] == 90.0


def test_end_on_the_first_and_on_the_last_day():
    # end is exclusive: ending on Mar 1 means active on Feb 29, not on Mar 31
    df = subs(("a", "2024-01-01", "2024-03-01", 100, "month"),
              ("b", "2024-01-01", "2024-03-31", 100, "month"))
    wide = customer_mrr(df, end="2024-04")
    assert wide.loc["a"].tolist() == [100.0, 100.0, 0.0, 0.0]
    # ending on the last day of March: not active on that day, so not at March's end
    assert wide.loc["b"].tolist() == [100.0, 100.0, 0.0, 0.0]
    mov = mrr_movements(df, start="2024-03", end="2024-03")
    assert mov.loc["2024-03", "churn"] == -200.0


def test_overlapping_add_on_is_expansion_then_contraction():
    df = subs(("a", "2024-01-01", None, 100, "month"), ("a", "2024-02-10", "2024-04-01", 30, "month"))
    mov = mrr_movements(df, start="2024-01", end="2024-04")
    assert mov["expansion"].tolist() == [0.0, 30.0, 0.0, 0.0]
    assert mov["contraction"].tolist() == [0.0, 0.0, 0.0, -30.0]
    assert mov["customers"].tolist() == [1, 1, 1, 1]


def test_reactivation_after_a_long_gap():
    df = subs(("a", "2020-01-01", "2020-03-01", 50, "month"), ("a", "2024-05-01", None, 70, "month"))
    mov = mrr_movements(df, start="2024-01", end="2024-06")
    assert mov.loc["2024-05", "reactivation"] == 70.0
    assert mov["new"].sum() == 0.0
    counts = movement_counts(df, start="2024-01", end="2024-06")
    assert counts.loc["2024-05", "reactivated_customers"] == 1


def test_zero_amount_row_is_not_paying():
    df = subs(("a", "2024-01-01", "2024-02-01", 0, "month"), ("a", "2024-02-01", None, 40, "month"))
    mov = mrr_movements(df, start="2024-01", end="2024-02")
    assert mov["customers"].tolist() == [0, 1]
    assert mov.loc["2024-02", "new"] == 40.0  # the free month does not make it a reactivation


def test_currency_conversion_is_constant():
    df = subs(("a", "2024-01-01", None, 100, "month", "EUR"), ("b", "2024-01-01", None, 100, "month"))
    wide = customer_mrr(df, FX, end="2024-01")
    assert wide.loc["a", pd.Period("2024-01", "M")] == pytest.approx(110.0)
    fx_eur = customer_mrr(df, FX, end="2024-01", base_currency="EUR")
    assert fx_eur.loc["b", pd.Period("2024-01", "M")] == pytest.approx(100 / 1.1)


def test_customer_active_before_the_window_is_not_new():
    df = subs(("a", "2023-06-01", None, 100, "month"), ("b", "2024-01-10", None, 20, "month"))
    mov = mrr_movements(df, start="2024-01", end="2024-01")
    assert mov.loc["2024-01", "opening_mrr"] == 100.0
    assert mov.loc["2024-01", "new"] == 20.0
    assert mov.loc["2024-01", "closing_mrr"] == 120.0


def test_start_and_end_in_the_same_month_never_counts():
    df = subs(("a", "2024-01-05", "2024-01-20", 100, "month"))
    assert mrr_movements(df, start="2024-01", end="2024-02")["customers"].sum() == 0


def test_by_plan_switch_is_churn_in_one_plan_and_new_in_the_other():
    df = subs(("a", "2024-01-01", "2024-02-01", 100, "month"), ("a", "2024-02-01", None, 200, "month"))
    df.loc[1, "plan"] = "Q"
    by = mrr_movements(df, start="2024-02", end="2024-02", by="plan")
    assert by.loc[("P", pd.Period("2024-02", "M")), "churn"] == -100.0
    assert by.loc[("Q", pd.Period("2024-02", "M")), "new"] == 200.0
    total = mrr_movements(df, start="2024-02", end="2024-02")
    assert total.loc["2024-02", "expansion"] == 100.0


# --- a deliberately naive second implementation -------------------------------------------


def naive_movements(df: pd.DataFrame, months: pd.PeriodIndex) -> pd.DataFrame:
    months_per = {"month": 1, "quarter": 3, "year": 12}
    first = pd.Period(df["start_date"].min(), "M")
    all_months = pd.period_range(min(first, months[0] - 1), months[-1], freq="M")
    history: dict[str, list[float]] = {}
    for cust, rows in df.groupby("customer_id"):
        values = []
        for m in all_months:
            day = m.end_time.normalize()
            active = rows[(rows["start_date"] <= day) & (rows["end_date"].isna() | (rows["end_date"] > day))]
            values.append(round(sum(a / months_per[i] for a, i in zip(active["amount"], active["billing_interval"])), 6))
        history[cust] = values
    out = []
    for m in months:
        j = list(all_months).index(m)
        row = dict(opening_mrr=0.0, new=0.0, expansion=0.0, reactivation=0.0, contraction=0.0, churn=0.0,
                   closing_mrr=0.0, customers=0)
        for values in history.values():
            prev, cur = values[j - 1] if j else 0.0, values[j]
            ever = any(v > 0 for v in values[: max(j - 1, 0)])
            row["opening_mrr"] += prev
            row["closing_mrr"] += cur
            row["customers"] += cur > 0
            if prev == 0 and cur > 0:
                row["reactivation" if ever else "new"] += cur
            elif prev > 0 and cur == 0:
                row["churn"] -= prev
            elif prev > 0 and cur > prev:
                row["expansion"] += cur - prev
            elif prev > 0 and cur < prev:
                row["contraction"] += cur - prev
        out.append(row)
    return pd.DataFrame(out, index=months.rename("month"))


def random_subs(rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        start = T("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 900)))
        end = start + pd.Timedelta(days=int(rng.integers(1, 500))) if rng.random() < 0.7 else None
        rows.append((f"c{rng.integers(0, 15)}", start, end, int(rng.integers(0, 5)) * 30,
                     str(rng.choice(["month", "quarter", "year"]))))
    return subs(*rows)


def test_matches_naive_implementation(rng):
    for _ in range(5):
        df = random_subs(rng)
        months = pd.period_range("2022-06", "2024-12", freq="M")
        got = mrr_movements(df, start="2022-06", end="2024-12")
        want = naive_movements(df, months)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-6, rtol=0)


@st.composite
def subscription_tables(draw):
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        start = T("2023-01-01") + pd.Timedelta(days=draw(st.integers(0, 700)))
        length = draw(st.one_of(st.none(), st.integers(1, 400)))
        rows.append((f"c{draw(st.integers(0, 6))}", start,
                     None if length is None else start + pd.Timedelta(days=length),
                     draw(st.integers(0, 4000)) / 4, draw(st.sampled_from(["month", "quarter", "year"]))))
    return subs(*rows)


@settings(max_examples=60, deadline=None)
@given(subscription_tables())
def test_movement_identity_and_continuity(df):
    mov = mrr_movements(df, start="2023-01", end="2025-06")
    parts = mov[["opening_mrr", "new", "expansion", "reactivation", "contraction", "churn"]].sum(axis=1)
    np.testing.assert_allclose(parts, mov["closing_mrr"], atol=1e-6)
    np.testing.assert_allclose(mov["opening_mrr"].iloc[1:], mov["closing_mrr"].iloc[:-1], atol=1e-6)
    assert (mov["contraction"] <= 0).all() and (mov["churn"] <= 0).all()
    assert (mov[["new", "expansion", "reactivation"]] >= 0).all().all()


# --- conformance with a public peer --------------------------------------------------------


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference/mrr_playbook not beside the repo")
def test_conformance_with_dbt_mrr_playbook():
    """Our month-end movements equal dbt-labs/mrr-playbook's figures for 2018-01..2020-02.

    The peer's upgrade/downgrade are our expansion/contraction; its monthly_amount is a
    monthly amount; end dates are exclusive and on the 1st. See the reference README.
    """
    periods = pd.read_csv(REFERENCE / "subscription_periods.csv", parse_dates=["start_date", "end_date"])
    df = periods.rename(columns={"monthly_amount": "amount"}).assign(
        subscription_id=lambda d: d["subscription_id"].astype(str),
        customer_id=lambda d: d["customer_id"].astype(str),
        billing_interval="month", currency="USD", plan="P", amount=lambda d: d["amount"].astype(float))
    want = pd.read_csv(REFERENCE / "expected_monthly_summary.csv")
    want.index = pd.PeriodIndex(want["date_month"].str[:7], freq="M", name="month")
    got = mrr_movements(df, start="2018-01", end="2020-02")
    counts = movement_counts(df, start="2018-01", end="2020-02")
    assert list(got.index) == list(want.index)
    pairs = {"closing_mrr": "mrr", "customers": "active_customers", "new": "new_mrr",
             "reactivation": "reactivation_mrr", "expansion": "upgrade_mrr",
             "contraction": "downgrade_mrr", "churn": "churn_mrr"}
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(got[ours], want[theirs], atol=0.005, err_msg=ours)
    count_pairs = {"new_customers": "new_n", "reactivated_customers": "reactivation_n",
                   "expansion_customers": "upgrade_n", "contraction_customers": "downgrade_n",
                   "churned_customers": "churn_n"}
    for ours, theirs in count_pairs.items():
        assert counts[ours].tolist() == want[theirs].tolist(), ours
    assert got["reactivation"].sum() > 0, "the reference exercises reactivation"
