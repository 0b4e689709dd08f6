"""Expected new MRR from the open pipeline, worked by hand, and its edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpilib import KpiError
from kpilib.metrics.pipeline import pipeline_mrr

AS_OF = pd.Period("2025-12", "M")  # its last day D = 2025-12-31


def leads(rows: list[tuple]) -> pd.DataFrame:
    """A leads table from (lead, opportunity_at, closed_at, outcome, amount) tuples; created a month
    before the opportunity."""
    out = pd.DataFrame([{"lead_id": r[0], "channel": "x", "owner": "r", "mql_at": pd.NaT, "sql_at": pd.NaT,
                         "opportunity_at": pd.Timestamp(r[1]) if r[1] else pd.NaT,
                         "trial_started_at": pd.NaT, "activated_at": pd.NaT,
                         "closed_at": pd.Timestamp(r[2]) if r[2] else pd.NaT, "outcome": r[3],
                         "amount": np.nan if r[4] is None else float(r[4]), "customer_id": None} for r in rows])
    out["created_at"] = (out["opportunity_at"].fillna(pd.Timestamp("2025-12-01")) - pd.Timedelta(days=30))
    return out.astype({c: "datetime64[us]" for c in ("created_at", "opportunity_at", "closed_at", "mql_at",
                                                      "sql_at", "trial_started_at", "activated_at")})


def hand_book() -> pd.DataFrame:
    """History (closed in 2025): three won deals with cycles of 10, 20 and 40 days (amounts 1,200, 2,400
    and 3,600: mean 2,400) and one lost; one won in 2024, outside the window. Win rate w = 3 / 4.

    Open at D = 2025-12-31:
    - A, opportunity since 2025-12-21 (a = 10 days), amount 12,000 (MRR 1,000): the won cycles longer
      than 10 days are 20 and 40, so it closes after 10 or 30 more days, 2026-01-10 or 2026-01-30:
      January 0.75 x 1,000 = 750.
    - B, since 2025-12-01 (a = 30), no amount: valued at 2,400 / 12 = 200; only the 40-day cycle is
      longer: 10 more days, January: 0.75 x 200 = 150.
    - C, since 2025-11-01 (a = 60): older than every won cycle, stale.
    - D, since 2025-12-31 (a = 0), amount 6,000 (500): closes on 2026-01-10, 2026-01-20 or 2026-02-09:
      January 0.75 x 500 x 2/3 = 250, February 0.75 x 500 x 1/3 = 125.
    - E, since 2025-12-26 (a = 5), amount 2,400 (200), won on 2026-01-05: not yet known at D, so open;
      closes 5, 15 or 35 days on: January 0.75 x 200 x 2/3 = 100, February 50.
    Not in the pipeline: F (no opportunity date), G (opportunity on 2026-01-03, after D).

    January 750 + 150 + 250 + 100 = 1,250; February 125 + 50 = 175. Expected deals: January
    0.75 x (1 + 1 + 2/3 + 2/3) = 2.5, February 0.75 x (1/3 + 1/3) = 0.5.
    """
    return leads([
        ("w1", "2025-03-01", "2025-03-11", "won", 1200), ("w2", "2025-05-01", "2025-05-21", "won", 2400),
        ("w3", "2025-08-01", "2025-09-10", "won", 3600), ("l1", "2025-06-01", "2025-06-15", "lost", None),
        ("old", "2024-03-01", "2024-06-01", "won", 99_000),
        ("A", "2025-12-21", None, None, 12_000), ("B", "2025-12-01", None, None, None),
        ("C", "2025-11-01", None, None, 5_000), ("D", "2025-12-31", None, None, 6_000),
        ("E", "2025-12-26", "2026-01-05", "won", 2_400), ("F", None, None, None, 1_000),
        ("G", "2026-01-03", None, None, 1_000),
    ])


def test_pipeline_by_hand():
    got = pipeline_mrr(hand_book(), as_of=AS_OF, horizon=12)
    assert list(got.index) == list(pd.period_range("2026-01", periods=12, freq="M"))
    expected = np.zeros(12)
    expected[:2] = [1_250.0, 175.0]
    np.testing.assert_allclose(got["expected_new_mrr"], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["expected_deals"].iloc[:2], [2.5, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["cumulative_new_mrr"].iloc[-1], 1_425.0, rtol=0, atol=1e-9)
    a = got.attrs
    assert (a["open"], a["stale"], a["closed"], a["won"], a["imputed"]) == (5, 1, 4, 3, 1)
    assert a["win_rate"] == 0.75 and a["mean_amount"] == 2_400.0 and a["median_cycle_days"] == 20.0
    assert a["reason"] == "" and a["beyond_horizon"] == 0.0


def test_a_short_horizon_counts_what_closes_later():
    got = pipeline_mrr(hand_book(), as_of=AS_OF, horizon=1)
    assert got["expected_new_mrr"].tolist() == pytest.approx([1_250.0])
    assert got.attrs["beyond_horizon"] == pytest.approx(175.0)


def test_the_pipeline_uses_only_what_was_known_at_as_of():
    """Rows and dates after D change nothing: the full table and the table cut at D give the same."""
    book = hand_book()
    later = leads([("H", "2026-02-01", None, None, 50_000), ("w9", "2026-01-02", "2026-01-04", "won", 1)])
    pd.testing.assert_frame_equal(pipeline_mrr(pd.concat([book, later], ignore_index=True), as_of=AS_OF),
                                  pipeline_mrr(book, as_of="2025-12"))


def test_no_closed_opportunity_leaves_the_win_rate_and_the_pipeline_undefined():
    book = leads([("A", "2025-12-21", None, None, 12_000)])
    got = pipeline_mrr(book, as_of=AS_OF)
    assert got.isna().all().all() and "no win rate" in got.attrs["reason"]
    assert got.attrs["open"] == 1


def test_no_deal_won_means_nothing_expected_and_every_opportunity_stale():
    book = leads([("l1", "2025-06-01", "2025-06-15", "lost", None), ("A", "2025-12-21", None, None, 12_000)])
    got = pipeline_mrr(book, as_of=AS_OF)
    assert (got["expected_new_mrr"] == 0).all() and got.attrs["win_rate"] == 0.0 and got.attrs["stale"] == 1
    assert got.attrs["reason"] == ""


def test_an_empty_pipeline_is_zero_not_undefined():
    got = pipeline_mrr(hand_book().iloc[:5], as_of=AS_OF)
    assert (got["expected_new_mrr"] == 0).all() and got.attrs["open"] == 0 and got.attrs["reason"] == ""


def test_bad_horizon_is_refused():
    with pytest.raises(KpiError):
        pipeline_mrr(hand_book(), as_of=AS_OF, horizon=0)
