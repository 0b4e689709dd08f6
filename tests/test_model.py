"""KpiModel and the KPI registry on a hand-built book whose figures are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import kpilib as kpi
from kpilib.report.model import KpiModel
from kpilib.report.overview import headline_kpis, kpi_tiles
from kpilib.report.registry import GROWTH_BANDS, KPIS, growth_target


def _book(opex_december: float = 70.0) -> kpi.Dataset:
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "name": list("ABCD"),
        "segment": ["SMB", "SMB", "Enterprise", "Enterprise"], "region": ["NA"] * 4,
        "acquisition_channel": ["Paid Search"] * 4,
        "created_at": pd.to_datetime(["2024-12-01"] * 4)})
    subs = pd.DataFrame({
        "subscription_id": ["a1", "b1", "c1", "d1", "d2"], "customer_id": ["a", "b", "c", "d", "d"],
        "plan": ["Pro"] * 5,
        "start_date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-15", "2024-12-01", "2025-03-01"]),
        "end_date": pd.to_datetime([None, "2025-05-01", "2025-03-10", None, None]),
        "amount": [100.0, 200.0, 300.0, 50.0, 50.0], "billing_interval": ["month"] * 5,
        "currency": ["USD"] * 5})
    months = pd.period_range("2024-01", "2025-12", freq="M")
    in_2025 = months.year == 2025
    fin = pd.DataFrame({"month": months, "revenue": np.where(in_2025, 120.0, 100.0),
                        "cogs": np.where(in_2025, 20.0, 10.0),
                        "operating_expenses": np.where(in_2025, 70.0, 60.0)})
    fin.loc[fin["month"] == pd.Period("2025-12", "M"), "operating_expenses"] = opex_december
    return kpi.Dataset(tables={"customers": customers, "subscriptions": subs, "financials": fin},
                       source="hand-built book")


def test_churn_is_the_share_of_starting_customers_lost_and_in_period_customers_apart():
    q1 = KpiModel(_book(), "2025-Q1").customer_churn
    # start of Q1: only d pays; end of Q1: a, b, d. c started and stopped inside Q1.
    assert (q1["starting_customers"], q1["lost_customers"], q1["won_and_lost"]) == (1, 0, 1)
    assert q1["customer_churn"] == 0.0
    q2 = KpiModel(_book(), "2025-Q2").customer_churn
    assert (q2["starting_customers"], q2["lost_customers"]) == (3, 1)  # a, b, d at the start; b lost
    assert q2["customer_churn"] == pytest.approx(1 / 3)
    assert q2["customer_churn_monthly"] == pytest.approx(1 - (2 / 3) ** (1 / 3))
    assert KpiModel(_book(), "2025-04").customer_churn["customer_churn"] == 0.0  # b pays on 30 April
    may = KpiModel(_book(), "2025-05").customer_churn  # b's end date 1 May is exclusive
    assert may["customer_churn"] == pytest.approx(1 / 3)
    assert may["customer_churn_monthly"] == pytest.approx(1 / 3)  # a month is its own equivalent


def test_rule_of_40_uses_the_trailing_twelve_months():
    model = KpiModel(_book(), "2025-12")
    assert model.value("rule_of_40") == pytest.approx(1440 / 1200 - 1 + (1440 - 240 - 840) / 1440)
    spiked = KpiModel(_book(opex_december=500.0), "2025-12")
    # one month's opex spike moves the trailing year by its share, not the whole margin
    assert spiked.value("rule_of_40") == pytest.approx(0.2 + (1440 - 240 - 11 * 70 - 500) / 1440)
    q4 = KpiModel(_book(), "2025-Q4")
    assert q4.value("rule_of_40") == pytest.approx(model.value("rule_of_40"))
    assert math.isnan(KpiModel(_book(), "2024-12").value("rule_of_40"))  # no 2023 financials
    from kpilib.report.pages import bookings_table

    shown = bookings_table(model).iloc[:, 0]  # to 0.01 %: the parts as shown add up to the score as shown
    assert [v for k, v in shown.items() if "trailing 12 months" in k] == ["20.00%", "25.00%", "45.00%"]


def test_previous_and_year_ago_come_from_models_cut_at_their_own_end():
    h = headline_kpis(KpiModel(_book(), "2025-05")).set_index("kpi")
    assert h.loc["mrr", "value"] == 200  # a 100 + d 100
    assert h.loc["mrr", "previous"] == 400  # April: a, b, d
    assert h.loc["customers", "year_ago"] == 0
    assert math.isnan(h.loc["arpa", "year_ago"])  # no customers a year earlier: undefined, not inf


def test_company_wide_kpis_are_withheld_from_a_segment_with_the_reason():
    model = KpiModel(_book(), "2025-12", segment="SMB")
    h = headline_kpis(model).set_index("kpi")
    assert h.loc["mrr", "value"] == 100  # a only; b churned in April
    for key in ("rule_of_40", "win_rate", "bounce_rate", "ltv_cac", "cac_payback"):
        assert KPIS[key].scope == "company"
        assert math.isnan(h.loc[key, "value"]) and math.isnan(h.loc[key, "previous"])
        assert h.loc[key, "note"].startswith("company-wide:"), key
        assert h.loc[key, "status"] == "none"
    whole = headline_kpis(KpiModel(_book(), "2025-12")).set_index("kpi")
    assert whole.loc["rule_of_40", "value"] == pytest.approx(0.45)


def test_growth_is_judged_against_the_target_of_the_companys_arr_band():
    model = KpiModel(_book(), "2025-02")  # ARR 12 x 650 = 7,800: early stage
    target, source = growth_target(model)
    assert target == 0.15 and "early stage" in source
    assert GROWTH_BANDS[1][1] == pytest.approx(3 ** (1 / 12) - 1)
    row = headline_kpis(model).set_index("kpi").loc["mrr_cmgr"]
    assert row["value"] == pytest.approx(650 / 350 - 1)  # end of Jan: a, b, d; end of Feb: + c
    assert row["status"] == "ok" and "early stage" in row["target"]
    march = headline_kpis(KpiModel(_book(), "2025-03")).set_index("kpi").loc["mrr_cmgr"]
    assert march["value"] == pytest.approx(400 / 650 - 1) and march["status"] == "warn"


def test_growth_band_of_a_large_company_is_doubling_a_year():
    ds = _book()
    subs = ds.subscriptions.assign(amount=ds.subscriptions["amount"] * 10_000)  # ARR in the tens of millions
    big = kpi.Dataset(tables={**ds.tables, "subscriptions": subs}, source="big")
    target, source = growth_target(KpiModel(big, "2025-03"))
    assert target == pytest.approx(2 ** (1 / 12) - 1) and "$10M and above" in source


def test_tiles_follow_the_registry_for_the_period_kind():
    kpis = headline_kpis(KpiModel(_book(), "2025-Q2"))
    labels = [t.label for t in kpi_tiles(kpis, kpi.parse_period("2025-Q2"))]
    assert "Customer churn (period)" in labels and "Customer churn /month" in labels
    month_labels = [t.label for t in kpi_tiles(headline_kpis(KpiModel(_book(), "2025-06")),
                                               kpi.parse_period("2025-06"))]
    assert "Customer churn (period)" not in month_labels and "MRR growth /month" in month_labels


def test_a_tile_says_its_health_in_words_not_only_in_colour():
    from kpilib.report.display import tiles_html

    period = kpi.parse_period("2025-03")
    kpis = headline_kpis(KpiModel(_book(), period))
    tiles = kpi_tiles(kpis, period)
    words = {"ok": "healthy", "warn": "watch", "bad": "unhealthy", "none": ""}
    judged = [t for t in tiles if t.status != "none"]
    assert judged and any(t.status == "none" for t in tiles)  # both kinds on this period's tiles
    assert all(t.verdict == words[t.status] for t in tiles)
    page = tiles_html(tiles).data
    assert page.count('<div class="verdict">') == len(judged)
    for t in judged:
        assert f'<div class="value">{t.value}</div><div class="verdict">{t.verdict}</div>' in page
    from kpilib.i18n import _

    with kpi.using("fr"):  # in the pack's language
        french = kpi_tiles(kpis, period)
        in_french = {status: _(word) if word else "" for status, word in words.items()}
    assert in_french["ok"] != "healthy" and in_french["bad"] != "unhealthy"
    assert all(t.verdict == in_french[t.status] for t in french)


def test_docs_metrics_holds_the_registry_table_and_every_kpi_has_a_source():
    from kpilib.paths import PROJECT_DIR
    from kpilib.report.registry import registry_markdown

    doc = (PROJECT_DIR / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert registry_markdown() in doc, "docs/metrics.md is stale: paste kpilib.report.registry.registry_markdown()"
    for spec in KPIS.values():
        assert spec.source and set(spec.meaning) == {"month", "quarter", "year"}, spec.key
        assert f'id="{spec.anchor}"' in doc


def test_the_glossary_shows_the_registry_as_a_table_of_every_kpi_row_by_row(tmp_path):
    """A bar in a definition (the quick ratio's |churn + contraction|) once turned the whole table into
    one paragraph of pipes on the pack's glossary page."""
    import re

    from kpilib.report.render import write_glossary

    page = write_glossary(tmp_path, None, None).read_text(encoding="utf-8")
    start = page.index('id="kpi-mrr"')
    table = page[page.rindex("<table", 0, start):page.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    assert len(rows) == len(KPIS) + 1  # the header row, then one row per KPI
    assert all(len(re.findall(r"<t[dh][ >]", row)) == 8 for row in rows)
    for spec in KPIS.values():
        assert f'id="{spec.anchor}"' in table, spec.key
    assert "|churn + contraction|" in table


def test_the_public_api_is_curated_and_complete():
    assert all(hasattr(kpi, name) for name in kpi.__all__)
    assert "annotations" not in kpi.__all__ and len(set(kpi.__all__)) == len(kpi.__all__)
    assert all(issubclass(getattr(kpi, e), kpi.KpiError) for e in ("ContractError", "PeriodError", "ReportError"))


def test_win_rate_is_the_segments_own_when_leads_carry_a_segment():
    base = _book()
    leads = pd.DataFrame({
        "lead_id": ["l1", "l2", "l3"], "created_at": pd.to_datetime(["2025-11-01"] * 3), "channel": ["x"] * 3,
        "owner": ["r"] * 3, "mql_at": pd.NaT, "sql_at": pd.NaT, "opportunity_at": pd.NaT,
        "trial_started_at": pd.NaT, "activated_at": pd.NaT,
        "closed_at": pd.to_datetime(["2025-12-05", "2025-12-06", "2025-12-07"]),
        "outcome": ["won", "lost", "lost"], "amount": [1.0, 1.0, 1.0], "customer_id": [None] * 3})
    without = kpi.Dataset(tables={**base.tables, "leads": leads}, source="t")
    assert math.isnan(KpiModel(without, "2025-12", segment="SMB").value("win_rate"))  # company-wide
    assert KpiModel(without, "2025-12").value("win_rate") == pytest.approx(1 / 3)
    tagged = kpi.Dataset(tables={**base.tables, "leads": leads.assign(segment=["SMB", "SMB", "Enterprise"])},
                         source="t")
    smb = KpiModel(tagged, "2025-12", segment="SMB")
    assert smb.value("win_rate") == pytest.approx(1 / 2)  # l1 won, l2 lost; l3 is Enterprise's
    assert headline_kpis(smb).set_index("kpi").loc["win_rate", "note"] == ""


def test_the_clv_comes_from_the_per_interval_model_and_its_words_match_its_fits():
    from kpilib.metrics.sbg import sbg_verdict

    model = KpiModel(kpi.load_dataset(None), "2025-12")
    icm = model.interval_churn
    assert set(icm.fits) == {"month", "quarter", "year"} and icm.coverage == 1.0
    assert model.unit_economics[0].loc["sBG CLV (per billing interval, acquisition mix)", "value"] == \
        pytest.approx(icm.clv)
    table = kpi.interval_churn_table(model)
    for interval, label in (("month", "Monthly plans"), ("year", "Annual plans")):
        assert table.loc[label, "What the model says"] == sbg_verdict(icm.fits[interval])
    # an annual plan can only be left at its renewal: its churn is per year, far above the monthly rate
    assert icm.fits["year"].mean_churn > icm.fits["year"].monthly_churn * 6


def test_the_engagement_page_reads_its_figures_from_the_snapshot_never_the_usage_rows(tmp_path):
    """``kpi report`` computes the engagement page's figures before it hands the model to the kernels:
    a kernel then shows them without reading one usage row (11M at 100 copies of the sample)."""
    from kpilib.report.pages import engagement_table
    from kpilib.report.snapshot import load_snapshot, write_snapshot

    sample = kpi.load_dataset(None)
    full = KpiModel(sample, "2025-12").engagement  # scores of every account-month, churn by band
    model = KpiModel(sample, "2025-12")
    latest, scores, by_band, horizon = model.engagement_summary
    assert "engagement" not in model.__dict__  # asked alone, the per-account-month scores are not kept
    assert latest == full[0]["month"].max() == pd.Period("2025-12", "M")
    assert scores.tolist() == full[0].loc[full[0]["month"] == latest, "score"].tolist()
    assert len(scores) == (full[0]["month"] == latest).sum() > 100
    pd.testing.assert_frame_equal(by_band, full[1])
    assert horizon == full[2] == 3
    write_snapshot(model, ("k",), tmp_path / "model.pickle")
    read_back, _ = load_snapshot(tmp_path / "model.pickle", ("k",))
    store = read_back.data.tables.given._store
    assert read_back.engagement_summary[1].tolist() == scores.tolist()
    assert engagement_table(read_back)["churn_rate"].tolist() == by_band["churn_rate"].tolist()
    assert not store._frames, "a table was read from the snapshot"
    asked = KpiModel(sample, "2025-12")
    asked.engagement  # noqa: B018 - asked for first: kept, as an analyst in JupyterLab expects
    asked.engagement_summary  # noqa: B018
    assert "engagement" in asked.__dict__


def test_the_unit_economics_table_gives_reasons_only_when_a_figure_is_undefined(tiny_dir):
    from kpilib.report.pages import unit_economics_table, web_table

    sample = unit_economics_table(KpiModel(kpi.load_dataset(None), "2025-12"))
    assert list(sample.columns) == ["value"]  # every figure defined: no column of empty reasons
    quiet = unit_economics_table(KpiModel(kpi.load_dataset(str(tiny_dir)), "2024-03"))  # nobody new in March
    assert list(quiet.columns) == ["value", "why undefined"]
    assert quiet.loc["CAC", "value"] == "undefined"
    assert quiet.loc["CAC", "why undefined"] == "no new customers in the period"
    assert (quiet.loc[quiet["value"] != "undefined", "why undefined"] == "").all()
    assert web_table(KpiModel(kpi.load_dataset(str(tiny_dir)), "2024-01")).index.name == "channel"


def test_a_year_s_tiles_compare_once_with_the_year_before():
    """A year's previous period is the year before: each tile shows that change once (a quarter's
    tiles show the previous quarter and the same quarter a year earlier), NPS included."""
    year = kpi.parse_period("2025")
    tiles = kpi_tiles(headline_kpis(KpiModel(_book(), year)), year)
    assert tiles and all(len(t.changes) == 1 and "Year 2024" in t.changes[0] for t in tiles)
    quarter = kpi.parse_period("2025-Q2")
    assert all(len(t.changes) == 2 for t in kpi_tiles(headline_kpis(KpiModel(_book(), quarter)), quarter))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_undefined_ltv_cac_says_why_in_the_reader_s_language(lang):
    from kpilib.i18n import using

    with using(lang):
        model = KpiModel(_book().filter(segment="Enterprise"), "2025-03", segment="Enterprise")
        text = kpi.unit_economics_note(model).data
        table = kpi.unit_economics_table(model)
    if lang == "en":
        assert text.startswith('<div class="kpi-note">LTV:CAC is undefined: no marketing_spend table. Inputs:')
    assert "undefined: undefined" not in text and ("undefined" in text) is (lang == "en")
    assert ("undefined" in " ".join(table.iloc[:, 0])) is (lang == "en")


def test_the_breakdowns_are_computed_once_and_travel_in_the_snapshot(tmp_path):
    """The revenue page asks for the segments three times and the workbook once more: the model keeps
    each breakdown, hands every caller its own copy, and ``kpi report`` computes the workbook's before
    the snapshot, so a kernel shows them without reading the subscriptions again."""
    from kpilib.metrics.revenue import revenue_breakdown
    from kpilib.report.export import EXPORT_BREAKDOWNS
    from kpilib.report.snapshot import load_snapshot, write_snapshot

    model = KpiModel(_book(), "2025-03")
    d = model.data
    direct = revenue_breakdown(d.subscriptions, d.fx_rates, d.customers, model.period, "segment")
    # by hand, March 2025: SMB a 100 + b 200 (both since January), Enterprise d 100 (50 more from March:
    # expansion) and c, which paid from 2025-02 and stopped on 2025-03-10 (churn of 300)
    assert direct.loc["SMB", "mrr"] == 300.0 and direct.loc["Enterprise", "mrr"] == 100.0
    assert direct.loc["Enterprise", "expansion"] == 50.0 and direct.loc["Enterprise", "churn"] == -300.0
    first = model.breakdown("segment")
    pd.testing.assert_frame_equal(first, direct)
    first.loc["SMB", "mrr"] = -1.0  # a caller's change stays its own
    assert model.breakdown("segment").loc["SMB", "mrr"] == 300.0
    for by in EXPORT_BREAKDOWNS:
        model.breakdown(by)
    write_snapshot(model, ("k",), tmp_path / "model.pickle")
    read_back, _ = load_snapshot(tmp_path / "model.pickle", ("k",))
    store = read_back.data.tables.given._store
    pd.testing.assert_frame_equal(read_back.breakdown("segment"), direct)
    assert read_back.breakdown("plan")["mrr"].tolist() == [400.0]
    assert not store._frames, "a table was read from the snapshot"


def test_the_plan_table_says_when_its_customers_add_up_to_more_than_the_company():
    """d pays for Pro and, from March, for Growth too: it counts under both plans, once in the company."""
    from kpilib.report.pages import plan_count_note

    assert plan_count_note(KpiModel(_book(), "2025-12")) is None  # d's two lines are both Pro
    book = _book()
    subs = book.tables["subscriptions"].copy()
    subs.loc[subs["subscription_id"] == "d2", "plan"] = "Growth"
    two_plans = kpi.Dataset(tables={**book.tables, "subscriptions": subs}, source="hand-built book")
    model = KpiModel(two_plans, "2025-12")
    assert model.breakdown("plan")["customers"].to_dict() == {"Pro": 2.0, "Growth": 1.0}
    assert model.revenue["customers"] == 2
    assert plan_count_note(model).data == kpi.note_html(
        "The plans count 3 customers, the company 2: a customer paying for several plans at once counts under "
        "each plan.").data
