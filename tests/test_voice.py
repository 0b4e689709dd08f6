"""NPS, eNPS, CES and engagement on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpilib import (
    ces_summary,
    churn_by_engagement,
    engagement_scores,
    notable_comments,
    nps_by,
    nps_summary,
    nps_trend,
    parse_period,
)


def test_nps_hand_computed():
    s = nps_summary([10, 9, 8, 7, 6, 0, 10, 3, 9, 5])  # 4 promoters, 2 passives, 4 detractors
    assert (s["promoters"], s["passives"], s["detractors"], s["n"]) == (4, 2, 4, 10)
    assert s["nps"] == 0.0
    assert s["margin_of_error"] == pytest.approx(100 * 1.96 * math.sqrt((0.4 + 0.4 - 0.0) / 10))
    assert list(s.index) == ["nps", "promoters", "passives", "detractors", "n", "margin_of_error"]


def test_all_promoters_has_no_margin():
    s = nps_summary([9, 10, 10])
    assert s["nps"] == 100 and s["margin_of_error"] == 0


def test_single_answer_and_empty():
    one = nps_summary([3])
    assert one["nps"] == -100 and one["n"] == 1 and one["margin_of_error"] == 0
    none = nps_summary([])
    assert math.isnan(none["nps"]) and math.isnan(none["margin_of_error"]) and none["n"] == 0


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_invariants(scores):
    s = nps_summary(scores)
    assert -100 <= s["nps"] <= 100 and s["margin_of_error"] >= 0
    assert s["promoters"] + s["passives"] + s["detractors"] == s["n"] == len(scores)


@pytest.fixture
def responses():
    return pd.DataFrame({
        "response_id": [f"r{i}" for i in range(7)],
        "survey": ["nps", "nps", "nps", "enps", "ces", "ces", "nps"],
        "respondent_id": ["a", "b", "a", "E1", "a", "b", "b"],
        "responded_at": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-06-01", "2024-03-05",
                                        "2024-03-07", "2024-03-08", "2024-02-01"]),
        "score": [10, 2, 8, 9, 6, 3, 9],
        "comment": ["<b>love</b> it", "slow & buggy", None, "ok", "", "hard", "fine"],
    })


def test_trend_segment_ces_and_comments(responses):
    trend = nps_trend(responses)
    q1 = trend.loc[pd.Period("2024Q1", "Q")]
    assert q1["n"] == 3 and q1["nps"] == pytest.approx(100 / 3)
    enps = nps_trend(responses, "enps")
    assert enps["nps"].tolist() == [100.0]
    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["SMB", "Ent"]})
    by = nps_by(responses, customers, parse_period("2024-Q1"))
    assert by.loc["SMB", "nps"] == 100 and by.loc["Ent", "n"] == 2
    ces = ces_summary(responses, parse_period("2024-03"))
    assert ces["mean"] == 4.5 and ces["score_6"] == 1 and ces["score_3"] == 1
    notes = notable_comments(responses, parse_period("2024-Q1"))
    assert notes["group"].tolist() == ["promoter", "promoter", "detractor"]
    assert notes["comment"].iloc[0] == "<b>love</b> it"  # raw here; escaped at display


def test_engagement_score_and_churn_by_band():
    m1, m2 = pd.Period("2024-01", "M"), pd.Period("2024-02", "M")
    usage = pd.DataFrame({"customer_id": ["a", "b", "c", "a"], "month": [m1, m1, m1, m2],
                          "event": ["login", "login", "report_created", "login"], "count": [1, 10, 10, 5]})
    scores = engagement_scores(usage, {"login": 1.0, "report_created": 3.0})
    jan = scores[scores["month"] == m1].set_index("customer_id")
    # raw: a log(2), b log(11), c log(31) -> percentile ranks 1/3, 2/3, 3/3
    assert jan["raw"].tolist() == pytest.approx([np.log(2), np.log(11), np.log(31)])
    assert jan["score"].tolist() == pytest.approx([100 / 3, 200 / 3, 100])
    assert jan["band"].astype(str).tolist() == ["medium", "medium", "high"]
    months = pd.period_range("2024-01", "2024-04", freq="M")
    wide = pd.DataFrame([[10, 10, 10, 10], [10, 0, 0, 0], [10, 10, 10, 10]], index=["a", "b", "c"],
                        columns=months, dtype=float)
    out = churn_by_engagement(scores, wide, horizon=2)
    # Jan and Feb have two later months observed. Bands: a-Jan and b-Jan medium; c-Jan high;
    # a-Feb high (the only account active in February ranks 100). b stops paying in Feb.
    assert out.loc["medium", "account_months"] == 2 and out.loc["medium", "churned"] == 1
    assert out.loc["high", "account_months"] == 2 and out.loc["high", "churned"] == 0
    assert out.loc["medium", "churn_rate"] == 0.5 and math.isnan(out.loc["low", "churn_rate"])
    # an account the MRR grid does not know, and one not paying in the month, count nowhere
    wide.loc["a", months[1]] = 0.0
    fewer = churn_by_engagement(scores, wide.drop(index="c"), horizon=2)
    assert fewer["account_months"].tolist() == [0, 2, 0] and fewer["churned"].tolist() == [0, 2, 0]
    assert list(fewer.index) == ["low", "medium", "high"] and fewer.index.dtype == scores["band"].dtype


def _engagement_by_strings(usage: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """The score written the plain way, grouping by the strings themselves: the reference."""
    weighted = usage.assign(w=usage["count"].astype("float64") * usage["event"].map(weights).fillna(0.0))
    raw = weighted.groupby(["customer_id", "month"], sort=True)["w"].sum().map(np.log1p).rename("raw")
    frame = raw.reset_index()
    frame["score"] = frame.groupby("month")["raw"].rank(pct=True) * 100
    frame["band"] = pd.cut(frame["score"], [0, 33.3, 66.7, 100.01], labels=["low", "medium", "high"], right=False)
    return frame


@pytest.mark.parametrize("accounts, years", [(40, 2), (5000, 60)], ids=["dense", "sparse"])
def test_engagement_by_codes_equals_grouping_by_strings(accounts, years):
    # dense: a count per possible (account, month); sparse: few rows over 60 years of months, grouped by hashing
    rng = np.random.default_rng(7)
    n = 3000
    months = pd.period_range("1990-01", periods=12 * years, freq="M")
    usage = pd.DataFrame({
        "customer_id": pd.array([f"C{i:05d}" for i in rng.integers(0, accounts, n)], dtype="str"),
        "month": months[rng.integers(0, len(months), n)],
        "event": rng.choice(["login", "report_created", "api_call", "unknown_event"], n),
        "count": pd.array(rng.integers(0, 500, n), dtype="Int64"),
    })
    usage.loc[rng.choice(n, 40, replace=False), "count"] = pd.NA  # a missing count adds nothing
    weights = {"login": 1.0, "report_created": 3.0, "api_call": 0.01}
    got = engagement_scores(usage, weights)
    want = _engagement_by_strings(usage, weights)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got["month"].dtype == usage["month"].dtype and got["customer_id"].dtype == usage["customer_id"].dtype


def test_engagement_does_not_depend_on_the_order_of_the_rows():
    rng = np.random.default_rng(11)
    n = 2000
    usage = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in rng.integers(0, 60, n)],
                          "month": pd.period_range("2024-01", periods=6, freq="M")[rng.integers(0, 6, n)],
                          "event": rng.choice(["login", "api_call", "user_invited", "report_created"], n),
                          "count": rng.integers(1, 10_000, n)})
    first = engagement_scores(usage)
    shuffled = engagement_scores(usage.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(first, shuffled, check_exact=True)


def test_the_wave_table_and_chart_name_each_wave_as_the_page_text_does(tiny_dir):
    """"Q1 2024" (the page's words for a wave, in its language), never pandas' "2024Q1"."""
    from kpilib import KpiModel, load_dataset
    from kpilib.i18n import using
    from kpilib.report.pages import voice_trend

    model = KpiModel(load_dataset(str(tiny_dir)), "2024-06")
    trend = voice_trend(model, "nps")
    assert list(trend.index) == ["Q1 2024"] and trend.index.name == "wave"
    assert model.wave("nps").title == "Q1 2024"
    assert trend.loc["Q1 2024", "nps"] == 100 and trend.loc["Q1 2024", "n"] == 1
    with using("fr"):
        assert list(voice_trend(model, "nps").index) == [model.wave("nps").title] == ["T1 2024"]


def test_one_answer_is_said_in_the_singular(tiny_dir):
    import kpilib as kpi

    model = kpi.KpiModel(kpi.load_dataset(str(tiny_dir)), "2024-03")
    text = kpi.voice_note(model).data
    assert "from the Q1 2024 wave" in text and ", 1 answer" in text and "1 answers" not in text
