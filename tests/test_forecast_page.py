"""The forecast page: the model's forecast family (computed once, as of the period, per segment and
currency), the words written from it, and the page's cells on thin datasets."""

from __future__ import annotations

import ast

import matplotlib.figure
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import kpilib as kpi
from kpilib.paths import NOTEBOOKS_DIR, SAMPLE_DATA_DIR
from kpilib.report import titles
from kpilib.report.model import BACKTEST_LAGS, FORECAST_HORIZON, FORECAST_N_BOOT, KpiModel


@pytest.fixture(scope="module")
def sample() -> kpi.Dataset:
    return kpi.load_dataset("sample")


@pytest.fixture(scope="module")
def december(sample) -> KpiModel:
    return KpiModel(sample, "2025-12")


# --- the model's forecast family ---------------------------------------------------------------


def test_the_family_is_computed_once_with_the_pages_settings(december):
    family = december.forecast
    assert family is december.forecast
    f, bt = family.forecast, family.backtest
    assert list(f.index) == list(pd.period_range("2026-01", periods=FORECAST_HORIZON, freq="M"))
    assert f.attrs["assumptions"]["n_boot"] == FORECAST_N_BOOT and (f["reason"] == "").all()
    assert bt["horizon_months"].tolist() == list(BACKTEST_LAGS)
    assert bt["actual"].iloc[0] == pytest.approx(december.revenue["mrr"], abs=1e-6)
    assert (f["low"] <= f["central"]).all() and (f["central"] <= f["high"]).all()
    assert f.attrs["assumptions"]["installed_mrr"] == pytest.approx(december.revenue["mrr"], abs=1e-6)
    assert family.pipeline is not None and family.pipeline.attrs["open"] == 50


def test_a_quarter_forecasts_from_its_last_month(sample, december):
    q4 = KpiModel(sample, "2025-Q4").forecast
    assert_frame_equal(q4.forecast, december.forecast.forecast)
    assert_frame_equal(q4.backtest, december.forecast.backtest)


def test_the_family_is_as_known_at_the_period_end(sample):
    period = kpi.parse_period("2025-06")
    full = KpiModel(sample, period).forecast
    cut = KpiModel(kpi.as_of(sample, period.end_date), period).forecast
    assert_frame_equal(full.forecast, cut.forecast)
    assert_frame_equal(full.backtest, cut.backtest)
    assert_frame_equal(full.pipeline, cut.pipeline)


def test_a_base_currency_scales_every_amount_and_no_rate(december):
    eur = KpiModel(kpi.load_dataset("sample", base_currency="EUR"), "2025-12").forecast
    usd = december.forecast
    for column in ("committed", "central", "low", "high"):
        np.testing.assert_allclose(eur.forecast[column] * 1.08, usd.forecast[column], rtol=1e-9)
    np.testing.assert_allclose(eur.backtest["error_pct"], usd.backtest["error_pct"], rtol=1e-9)
    np.testing.assert_allclose(eur.pipeline["expected_new_mrr"] * 1.08, usd.pipeline["expected_new_mrr"], rtol=1e-9)
    np.testing.assert_allclose(eur.pipeline["expected_deals"], usd.pipeline["expected_deals"], rtol=1e-12)


def test_a_segment_forecasts_its_own_accounts_and_withholds_the_companys_pipeline(sample):
    m = KpiModel(sample, "2025-12", segment="Enterprise")
    f = m.forecast
    assert f.forecast.attrs["assumptions"]["installed_mrr"] == pytest.approx(m.revenue["mrr"], abs=1e-6)
    assert f.pipeline is None and "company's, not the segment's" in f.pipeline_missing
    assert "not shown for a segment" in kpi.pipeline_note(m).data


# --- words from the figures ------------------------------------------------------------------------


def frame(central=(110.0, 120.0), low=(100.0, 105.0), high=(115.0, 140.0), committed=(90.0, 40.0)):
    months = pd.period_range("2026-01", periods=2, freq="M", name="month")
    out = pd.DataFrame({"committed": committed, "central": central, "low": low, "high": high,
                        "installed_base": central, "new_business": 0.0, "reason": ""}, index=months)
    out.attrs["assumptions"] = {"level": 0.8}
    return out


def test_the_forecast_note_places_the_goal_against_the_band():
    end = pd.Period("2026-02", "M")
    inside = titles.forecast_note(frame(), (end, 130.0), "USD")
    assert inside.startswith("MRR is forecast at $120 in 2 months (February 2026), 80% band $105 to $140.")
    assert inside.endswith("The goal of $130 for February 2026 is inside the band.")
    assert titles.forecast_note(frame(), (end, 150.0), "USD").endswith("is above the band: the forecast does not "
                                                                       "reach it.")
    assert titles.forecast_note(frame(), (end, 100.0), "USD").endswith("is below the band: the forecast passes it.")
    assert titles.forecast_note(frame(), (end, 140.0), "USD").endswith("is inside the band.")  # on the edge
    assert "goal" not in titles.forecast_note(frame(), None, "USD")
    assert "Committed MRR, already contracted by signed terms, is $90 in January 2026 and $40 in February 2026" \
        in inside


def test_the_forecast_words_without_a_forecast_give_the_reason():
    none = frame(central=(np.nan, np.nan), low=(np.nan, np.nan), high=(np.nan, np.nan)).assign(reason="too thin")
    assert titles.forecast_note(none, None, "USD").startswith("No MRR forecast: too thin. Committed MRR")
    assert titles.forecast_title(none, "USD") == "No MRR forecast for this period: MRR so far and committed MRR"
    assert titles.forecast_title(frame(), "USD") == "MRR is forecast at $120 by Feb 2026 (80% band $105–$140)"


def backtest_frame(errors, inside, reasons=None):
    n = len(errors)
    return pd.DataFrame({"made_at": pd.period_range("2025-01", periods=n, freq="M"), "horizon_months": [3, 6, 12][:n],
                         "forecast": [np.nan if e is None else 100 * (1 + e) for e in errors],
                         "error_pct": [np.nan if e is None else e for e in errors],
                         "inside_band": pd.array(inside, dtype="boolean"),
                         "reason": reasons or [""] * n})


def test_the_backtest_note_counts_the_band_and_names_the_direction():
    below = titles.backtest_note(backtest_frame([-0.075, -0.075, -0.06], [False, False, True]))
    assert below == ("Track record: 1 of 3 forecasts made before the period held the actual MRR inside their 80% "
                     "band. Errors (forecast / actual - 1): -7.5% at 3 months, -7.5% at 6 months, -6.0% at 12 "
                     "months (every forecast below what happened).")
    mixed = titles.backtest_note(backtest_frame([0.02, -0.01, 0.05], [True, True, True]))
    assert mixed.startswith("Track record: 3 of 3") and "what happened" not in mixed
    above = titles.backtest_note(backtest_frame([0.02, 0.01], [True, False]))
    assert above.endswith("(every forecast above what happened).")
    partial = titles.backtest_note(backtest_frame([0.02, None], [True, None], ["", "only 3 months of history"]))
    assert partial.endswith("No forecast 6 months back: only 3 months of history.")
    assert partial.startswith("Track record: 1 of 1 forecast made before the period held the actual MRR inside its")
    nothing = titles.backtest_note(backtest_frame([None, None], [None, None], ["no customer pays", "x"]))
    assert nothing == "No backtest: no forecast could be made 3, 6 months before the period's end (no customer pays)."


def pipeline_frame(first=600.0, total=900.0, open_=10, stale=0, reason="", win=0.4):
    months = pd.period_range("2026-01", periods=2, freq="M", name="month")
    out = pd.DataFrame({"expected_deals": [3.0, 1.0], "expected_new_mrr": [first, total - first],
                        "cumulative_new_mrr": [first, total]}, index=months)
    out.attrs = {"as_of": "2025-12", "open": open_, "stale": stale, "win_rate": win, "reason": reason}
    return out


def test_the_pipeline_note_compares_with_the_run_rate():
    short = titles.pipeline_note(pipeline_frame(), 1_000.0, "USD")
    assert short.startswith("The 10 opportunities open at the end of December 2025 are expected to bring $900 of "
                            "new MRR in the next 2 months (4.0 expected wins at the 40.0% win rate")
    assert "$600 of it in January 2026: 60% of the $1,000 a month" in short
    assert short.endswith("have to come from leads not yet opportunities, or from customers who return.")
    ahead = titles.pipeline_note(pipeline_frame(first=1_500.0, total=1_600.0), 1_000.0, "USD")
    assert ahead.endswith("The open pipeline alone covers the run-rate for that month: the forecast may be cautious.")
    assert ", 2 of them stale (open longer than any deal won)" in titles.pipeline_note(pipeline_frame(stale=2), 1e3,
                                                                                        "USD")
    assert titles.pipeline_note(pipeline_frame(open_=0), 1e3, "USD").startswith("No opportunity was open")
    assert titles.pipeline_note(pipeline_frame(reason="no win rate"), 1e3, "USD") == \
        "Open pipeline not weighed: no win rate."
    assert titles.pipeline_note(None, 1e3, "USD", "No leads.") == "No leads."


# --- the page on thin data -----------------------------------------------------------------------


def _thin(n_customers: int = 60) -> dict[str, pd.DataFrame]:
    """The sample's first ``n_customers`` accounts with their rows (leads and eNPS kept whole)."""
    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in SAMPLE_DATA_DIR.glob("*.csv")}
    keep = set(frames["customers"]["customer_id"].iloc[:n_customers])
    for name, df in frames.items():
        if "customer_id" in df.columns and name != "leads":
            frames[name] = df[df["customer_id"].isin(keep)]
    frames["leads"].loc[~frames["leads"]["customer_id"].isin(keep), "customer_id"] = ""
    sr = frames["survey_responses"]
    frames["survey_responses"] = sr[(sr["survey"] == "enps") | sr["respondent_id"].isin(keep)]
    return frames


def _first_month(frames) -> str:
    return min(frames["subscriptions"]["start_date"])[:7]


def first_month():
    frames = _thin()
    return frames, _first_month(frames), "all", "only 1 month of MRR history"


def four_months_of_history():
    frames = _thin()
    return frames, str(pd.Period(_first_month(frames), "M") + 3), "all", "only 4 months of MRR history"


def no_leads():
    frames = _thin()
    for name in ("leads", "web_traffic", "sales_activities"):
        frames[name] = frames[name].iloc[:0]
    return frames, "2025-06", "all", "No leads in the data"


def segment_of_three_accounts():
    frames = _thin()
    customers = frames["customers"].copy()
    customers.loc[customers.index[:3], "segment"] = "Tiny"
    frames["customers"] = customers
    return frames, "2025-12", "Tiny", "too few to fit"


def _run(source: str, namespace: dict) -> object:
    tree = ast.parse(source)
    *body, last = tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), namespace)  # noqa: S102
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


@pytest.mark.parametrize("case", [first_month, four_months_of_history, no_leads, segment_of_three_accounts],
                         ids=lambda c: c.__name__)
@pytest.mark.slow
def test_the_page_says_what_is_missing_and_carries_on(case, tmp_path, monkeypatch):
    frames, period, segment, missing = case()
    for name, df in frames.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    shown: list = []
    # what a page shows as HTML; a chart (a Figure, shown by kpi.chart with its alt text) is drawn and closed
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(
        o for o in objs if not isinstance(o, matplotlib.figure.Figure)))
    nb = nbformat.read(NOTEBOOKS_DIR / "06_forecast.ipynb", as_version=4)
    namespace = {"period": period, "data": str(tmp_path), "base_currency": "USD", "segment": segment,
                     "lang": "en"}
    for cell in nb.cells[1:]:  # after the parameters cell
        if cell.cell_type == "code":
            result = _run(cell.source, namespace)
            if result is not None:
                shown.append(result)
    pages = [o._repr_html_() if hasattr(o, "_repr_html_") else o.to_html() for o in shown]
    text = " ".join(pages)
    assert missing in text, f"{case.__name__}: the page does not say {missing!r}"
    assert ">nan<" not in text.lower() and ">inf<" not in text and "NaN" not in text
