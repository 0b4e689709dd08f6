from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import PeriodError, latest_complete_period, parse_period


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "label", "title"),
    [
        ("2025-12", "month", "2025-12", "2025-12", "2025-12", "December 2025"),
        ("2025-Q4", "quarter", "2025-10", "2025-12", "2025-Q4", "Q4 2025"),
        ("2025q1", "quarter", "2025-01", "2025-03", "2025-Q1", "Q1 2025"),
        ("2025", "year", "2025-01", "2025-12", "2025", "Year 2025"),
        (" 2024-02 ", "month", "2024-02", "2024-02", "2024-02", "February 2024"),
    ],
)
def test_parse(text, kind, first, last, label, title):
    p = parse_period(text)
    assert (p.kind, str(p.first), str(p.last), p.label, p.title) == (kind, first, last, label, title)


@pytest.mark.parametrize("bad", ["2025-13", "25-12", "2025-Q5", "Dec 2025", "", "2025-12-01", "2025/12"])
def test_bad_period_strings(bad):
    with pytest.raises(PeriodError, match="is not a month"):
        parse_period(bad)


def test_dates_and_months():
    q = parse_period("2024-Q1")
    assert q.start_date == pd.Timestamp("2024-01-01")
    assert q.end_date == pd.Timestamp("2024-03-31")
    assert [str(m) for m in q.months] == ["2024-01", "2024-02", "2024-03"]


def test_previous_and_year_ago():
    assert parse_period("2025-01").previous().label == "2024-12"
    assert parse_period("2025-Q1").previous().label == "2024-Q4"
    assert parse_period("2025").previous().label == "2024"
    assert parse_period("2025-Q3").year_ago().label == "2024-Q3"


@pytest.mark.parametrize(
    ("end", "kind", "label"),
    [
        ("2025-12-31", "month", "2025-12"),
        ("2025-12-30", "month", "2025-11"),
        ("2025-12-31", "quarter", "2025-Q4"),
        ("2025-11-30", "quarter", "2025-Q3"),
        ("2025-12-31", "year", "2025"),
        ("2025-12-30", "year", "2024"),
    ],
)
def test_latest_complete_period(end, kind, label):
    assert latest_complete_period(pd.Timestamp(end), kind).label == label


@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(-30, 30))
def test_shift_round_trips(year, month, n):
    p = parse_period(f"{year}-{month:02d}")
    assert p.shift(n).shift(-n) == p
    assert parse_period(p.label) == p


@pytest.mark.parametrize(("text", "quarter"), [("2025-12", "2025-Q4"), ("2025-01", "2025-Q1"),
                                               ("2025-Q3", "2025-Q3"), ("2025", "2025-Q4")])
def test_quarter_containing_the_last_month(text, quarter):
    assert parse_period(text).quarter().label == quarter
