"""Funnel metrics on a hand-built set of leads (both views), web traffic and reps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import (
    channel_funnel,
    cycle_days,
    funnel_counts,
    funnel_trend,
    parse_period,
    rep_leaderboard,
    sales_cycle,
    stage_durations,
    trial_metrics,
    web_summary,
    win_rate,
)
from kpilib.metrics.funnel import stage_conversions

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
    # by 31 Jan: MQL 1-4; SQL and opportunity 1, 2 (lead 3's are in Feb); won: lead 1 only
    assert f["count"].tolist() == [5, 4, 2, 2, 1]
    assert f.loc["mql", "step_conversion"] == pytest.approx(4 / 5)
    assert f.loc["won", "from_lead"] == pytest.approx(1 / 5)
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


@pytest.mark.slow
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


def _as_of(leads, end):
    """Every stage date after ``end`` blanked (with its outcome): what was known at ``end``."""
    out = leads.copy()
    for c in ["mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at", "closed_at"]:
        out[c] = out[c].where(out[c] <= T(end))
    out["outcome"] = out["outcome"].where(out["closed_at"].notna())
    return out


def test_cohort_view_uses_only_dates_up_to_the_period_end(leads):
    later = funnel_counts(leads, JAN)
    known = _as_of(leads, "2024-01-31")
    assert later["count"].tolist() == [5, 4, 2, 2, 1]  # lead 3's SQL (1 Feb) and win (13 Feb) come later
    pd.testing.assert_frame_equal(later, funnel_counts(known, JAN))
    pd.testing.assert_frame_equal(stage_conversions(leads, JAN), stage_conversions(known, JAN))


def test_stage_conversions_are_named_from_to(leads):
    c = stage_conversions(leads, JAN)
    assert c.index.tolist() == ["lead -> MQL", "MQL -> SQL", "SQL -> opportunity", "opportunity -> won",
                                "lead -> won"]
    assert c[["from_count", "to_count"]].to_numpy().tolist() == [[5, 4], [4, 2], [2, 2], [2, 1], [5, 1]]
    assert c.loc["MQL -> SQL", "conversion"] == pytest.approx(2 / 4)
    f = stage_conversions(leads, FEB, "flow")
    # Feb: no lead created and no MQL date; lead 3 reached SQL (1 Feb), opportunity (3 Feb), won (13 Feb)
    assert math.isnan(f.loc["lead -> MQL", "conversion"]) and math.isnan(f.loc["MQL -> SQL", "conversion"])
    assert f.loc["SQL -> opportunity"].tolist() == [1, 1, 1.0]
    assert f.loc["opportunity -> won"].tolist() == [1, 1, 1.0]
    j = stage_conversions(leads, JAN, "flow")
    assert j.loc["opportunity -> won"].tolist() == [2, 1, 0.5]  # opportunities 1, 2 in Jan; lead 1 won by 31 Jan


def test_win_rate_counts_only_decided_deals(leads):
    undecided = lead(9, "2024-05-01", "Ads", "ana", closed="2024-06-02")  # closed without an outcome
    lost = lead(10, "2024-05-01", "Ads", "ana", closed="2024-06-03", outcome="lost")
    won = lead(11, "2024-05-01", "Ads", "ana", closed="2024-06-04", outcome="won")
    df = pd.concat([leads, pd.DataFrame([undecided])], ignore_index=True)
    assert math.isnan(win_rate(df, parse_period("2024-06")))  # no won or lost deal: undefined, not 0 %
    df = pd.concat([df, pd.DataFrame([lost, won])], ignore_index=True)
    assert win_rate(df, parse_period("2024-06")) == 0.5
    assert channel_funnel(df, None, parse_period("2024-06")).loc["Ads", "win_rate"] == 0.5


def _every_function(leads, acts, period):
    return [funnel_counts(leads, period), funnel_counts(leads, period, "flow"), stage_conversions(leads, period),
            stage_conversions(leads, period, "flow"), win_rate(leads, period), sales_cycle(leads, period),
            cycle_days(leads, period), stage_durations(leads, period), trial_metrics(leads, period),
            channel_funnel(leads, None, period), rep_leaderboard(leads, acts, period),
            rep_leaderboard(leads, None, period), funnel_trend(leads, None, pd.period_range("2024-01", "2024-02",
                                                                                            freq="M"))]


ACTS = pd.DataFrame({"date": [T("2024-01-02")], "owner": ["ana"], "calls": [3], "demos_booked": [1],
                     "demos_held": [1]})


def test_header_only_leads_file_through_the_loader(tiny_dir):
    from kpilib import load_dataset

    from conftest import TINY, write_table

    write_table(tiny_dir, "leads", [], columns=list(TINY["leads"][0]))
    empty = load_dataset(str(tiny_dir)).get("leads")
    assert empty is not None and empty.empty
    out = _every_function(empty, ACTS, JAN)
    assert out[0]["count"].sum() == 0 and math.isnan(out[4]) and out[9].empty
    assert out[2]["conversion"].isna().all()
    assert out[10].loc["ana", "leads"] == 0 and out[10].loc["ana", "demo_conversion"] == 1.0


@pytest.mark.parametrize("case", ["no leads in the period", "no owner column", "owner empty"])
def test_funnel_edge_cases(leads, case):
    period = parse_period("2024-06") if case == "no leads in the period" else JAN
    df = {"no owner column": leads.drop(columns="owner"), "owner empty": leads.assign(owner=None)}.get(case, leads)
    out = _every_function(df, ACTS, period)
    rates = [x for x in out if isinstance(x, float)] + [v for x in out if isinstance(x, pd.DataFrame)
                                                        for v in x.select_dtypes("number").to_numpy().ravel()]
    assert not any(np.isinf(rates))
    if case == "no leads in the period":
        assert math.isnan(out[4]) and out[0]["count"].sum() == 0
    else:
        assert out[0]["count"].tolist() == [5, 4, 2, 2, 1]
        assert out[10]["leads"].sum() == 0  # no owner to assign the leads to


@pytest.mark.slow
@given(st.lists(st.tuples(st.lists(st.sampled_from([N, T("2024-01-20"), T("2024-02-20")]), min_size=4,
                                   max_size=4), st.sampled_from(["won", "lost"])), min_size=1, max_size=25),
       st.sampled_from(["cohort", "flow"]))
def test_conversions_stay_between_0_and_1_even_with_skipped_stages(specs, view):
    rows = [lead(i, "2024-01-05", "Ads", "ana", *dates[:3], N, N, dates[3],
                 outcome if dates[3] is not N else None) for i, (dates, outcome) in enumerate(specs)]
    c = stage_conversions(pd.DataFrame(rows), JAN, view)["conversion"].dropna()
    assert ((c >= 0) & (c <= 1)).all()
    counts = funnel_counts(pd.DataFrame(rows), JAN)["count"].tolist()
    assert counts == sorted(counts, reverse=True)
