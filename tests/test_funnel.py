"""Funnel metrics on a hand-built set of leads (both views), web traffic and reps."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import (channel_funnel, funnel_counts, parse_period, rep_leaderboard, sales_cycle,
                    stage_durations, trial_metrics, web_summary, win_rate)

T = pd.Timestamp
N = pd.NaT
JAN, FEB = parse_period("2024-01"), parse_period("2024-02")


def lead(i, created, channel, owner, mql=N, sql=N, opp=N, trial=N, act=N, closed=N, outcome=None):
    return {"lead_id": f"l{i}", "created_at": T(created), "channel": channel, "owner": owner,
            "mql_at": T(mql), "sql_at": T(sql), "opportunity_at": T(opp), "trial_started_at": T(trial),
            "activated_at": T(act), "closed_at": T(closed), "outcome": outcome, "amount": None,
            "customer_id": None}


@pytest.fixture
def leads():
    rows = [
        lead(1, "2024-01-02", "Ads", "ana", "2024-01-03", "2024-01-05", "2024-01-08", "2024-01-08",
             "2024-01-10", "2024-01-22", "won"),                                   # cycle 20 days
        lead(2, "2024-01-05", "Ads", "ana", "2024-01-06", "2024-01-09", "2024-01-20", "2024-01-20",
             N, "2024-02-04", "lost"),
        lead(3, "2024-01-10", "SEO", "bo", "2024-01-15", "2024-02-01", "2024-02-03", N, N,
             "2024-02-13", "won"),                                                 # closes in Feb: 34 days
        lead(4, "2024-01-20", "SEO", "bo", "2024-01-25"),
        lead(5, "2024-01-25", "SEO", "ana"),
        lead(6, "2023-12-01", "Ads", "bo", "2023-12-02", "2023-12-05", "2023-12-10", N, N,
             "2024-01-11", "won"),                                                 # created before Jan: 41 days
    ]
    df = pd.DataFrame(rows)
    for c in ["mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at", "closed_at"]:
        df[c] = pd.to_datetime(df[c])
    return df


def test_cohort_view_counts_leads_created_in_the_period(leads):
    f = funnel_counts(leads, JAN)
    assert f["count"].tolist() == [5, 4, 3, 3, 2]  # won: lead 1 (Jan) and lead 3 (won in Feb)
    assert f.loc["mql", "step_conversion"] == pytest.approx(4 / 5)
    assert f.loc["won", "from_lead"] == pytest.approx(2 / 5)
    assert math.isnan(f.loc["lead", "step_conversion"])


def test_flow_view_counts_events_in_the_period(leads):
    f = funnel_counts(leads, JAN, view="flow")
    # Jan events: created 1-5; MQL 1,2,3,4; SQL 1,2; opp 1,2; won closed in Jan: 1 and 6
    assert f["count"].tolist() == [5, 4, 2, 2, 2]


def test_win_rate_uses_deals_closed_in_the_period(leads):
    assert win_rate(leads, JAN) == pytest.approx(2 / 2)   # leads 1 and 6, both won
    assert win_rate(leads, FEB) == pytest.approx(1 / 2)   # lead 3 won, lead 2 lost
    assert math.isnan(win_rate(leads, parse_period("2024-06")))


def test_sales_cycle(leads):
    c = sales_cycle(leads, JAN)
    assert c["n"] == 2 and c["median"] == pytest.approx(30.5) and c["mean"] == pytest.approx(30.5)
    assert c["p75"] == pytest.approx(20 + 0.75 * 21)
    assert math.isnan(sales_cycle(leads, parse_period("2024-06"))["median"])


def test_stage_durations(leads):
    d = stage_durations(leads, JAN)
    # lead -> mql days for leads 1..4: 1, 1, 5, 5
    assert d.loc["lead -> mql", "median_days"] == 3 and d.loc["lead -> mql", "leads"] == 4


def test_trials(leads):
    t = trial_metrics(leads, JAN)
    assert t["trials"] == 2 and t["activation_rate"] == 0.5 and t["trial_to_paid"] == 0.5


def test_web_and_channel_breakdown(leads):
    web = pd.DataFrame({"date": [T("2024-01-01"), T("2024-01-02"), T("2024-01-01")],
                        "channel": ["Ads", "Ads", "SEO"], "sessions": [100, 50, 40],
                        "unique_visitors": [80, 40, 30], "new_visitors": [60, 20, 10],
                        "bounced_sessions": [60, 20, 10]})
    total = web_summary(web, JAN).iloc[0]
    assert total["sessions"] == 190 and total["bounce_rate"] == pytest.approx(90 / 190)
    ch = channel_funnel(leads, web, JAN)
    assert ch.loc["Ads", "lead"] == 2 and ch.loc["SEO", "lead"] == 3
    assert ch.loc["Ads", "visitor_to_lead"] == pytest.approx(2 / 120)
    assert ch.loc["SEO", "bounce_rate"] == pytest.approx(10 / 40)
    assert ch.loc["Ads", "win_rate"] == 1.0  # lead 1 and lead 6 closed won in January


def test_rep_leaderboard(leads):
    acts = pd.DataFrame({"date": [T("2024-01-02"), T("2024-01-03"), T("2024-01-02")],
                         "owner": ["ana", "ana", "cy"], "calls": [10, 20, 5], "demos_booked": [2, 1, 1],
                         "demos_held": [1, 1, 0]})
    board = rep_leaderboard(leads, acts, JAN)
    assert board.loc["ana", "leads"] == 3 and board.loc["ana", "won"] == 1
    assert board.loc["ana", "calls_per_day"] == 15
    assert board.loc["ana", "demo_conversion"] == pytest.approx(2 / 3)  # 2 held of 3 booked
    # cy booked a demo and held none; with no leads, held / leads would be undefined
    assert board.loc["cy", "demo_conversion"] == 0.0
    assert (board["demo_conversion"].dropna() <= 1).all()
    assert board.loc["ana", "deal_conversion"] == pytest.approx(1 / 3)
    assert board.loc["cy", "leads"] == 0 and math.isnan(board.loc["cy", "deal_conversion"])


def test_empty_leads_table(leads):
    empty = leads.iloc[0:0]
    assert funnel_counts(empty, JAN)["count"].sum() == 0
    assert math.isnan(win_rate(empty, JAN))


@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=30))
def test_cohort_funnel_never_widens(specs):
    rows = []
    for i, (depth, won) in enumerate(specs):
        dates = [T("2024-01-10") + pd.Timedelta(days=k) for k in range(1, 5)]
        reached = [d if k < depth else N for k, d in enumerate(dates)]
        closed = dates[3] + pd.Timedelta(days=1) if depth == 4 else N
        rows.append(lead(i, "2024-01-05", "Ads", "ana", *reached[:3], N, N, closed,
                         ("won" if won else "lost") if depth == 4 else None))
    df = pd.DataFrame(rows)
    counts = funnel_counts(df, JAN)["count"].tolist()
    assert counts == sorted(counts, reverse=True)
    assert all(0 <= r <= 1 for r in funnel_counts(df, JAN)["from_lead"])
