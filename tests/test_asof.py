"""The as-of rule: a pack for period P uses only what was known at P's end.

The property is tested the way a user would see it: cut the sample company's CSV files at
P's end with a plain, independent implementation (what an export taken on the morning
after P would hold), load them through the contract, and compare every headline figure
with those computed from the full data.
"""

from __future__ import annotations

import math
import pickle

import pandas as pd
import pytest

import kpilib as kpi
from kpilib.data.asof import CUTS, as_of
from kpilib.data.contract import TABLES
from kpilib.paths import SAMPLE_DATA_DIR
from kpilib.report.model import KpiModel
from kpilib.report.overview import headline_kpis

# what a table's rows are dated by, and the later events recorded on them (the spec, restated)
ROW_DATE = {"customers": "created_at", "subscriptions": "start_date", "leads": "created_at",
            "web_traffic": "date", "marketing_spend": "month", "sales_activities": "date",
            "survey_responses": "responded_at", "product_usage": "month", "financials": "month"}
LATER = {"subscriptions": ["end_date"],
         "leads": ["mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at", "closed_at"]}


def export_cut_at(end: pd.Timestamp, target) -> None:
    """Write the sample's CSVs as an export taken right after ``end`` would hold them."""
    month = end.strftime("%Y-%m")
    day = end.strftime("%Y-%m-%d")
    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in SAMPLE_DATA_DIR.glob("*.csv")}
    created = frames["customers"]["created_at"].str[:10]
    gone = set(frames["customers"].loc[created > day, "customer_id"])
    for name, df in frames.items():
        if name in ROW_DATE:
            col = ROW_DATE[name]
            text = df[col].str[:7] if col == "month" else df[col].str[:10]
            df = df[text <= (month if col == "month" else day)].copy()
        for col in LATER.get(name, []):
            late = (df[col] != "") & (df[col].str[:10] > day)
            df.loc[late, col] = ""
            if col == "closed_at":
                df.loc[late, ["outcome", "customer_id"]] = ""
        if name == "leads":
            df.loc[df["customer_id"].isin(gone), "customer_id"] = ""
        elif "customer_id" in df.columns:
            df = df[~df["customer_id"].isin(gone)]
        if name == "survey_responses":
            df = df[~((df["survey"] != "enps") & df["respondent_id"].isin(gone))]
        df.to_csv(target / f"{name}.csv", index=False)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def full():
    return kpi.load_dataset(None)


@pytest.mark.slow
@pytest.mark.parametrize("label", ["2024-06", "2025-11", "2025-Q3", "2024"])
def test_cutting_every_table_at_the_period_end_gives_the_same_figures(full, label, tmp_path):
    period = kpi.parse_period(label)
    export_cut_at(period.end_date, tmp_path)
    cut = kpi.load_dataset(str(tmp_path))
    a, b = headline_kpis(KpiModel(full, period)), headline_kpis(KpiModel(cut, period))
    for col in ("value", "previous", "year_ago"):
        for key, x, y in zip(a["kpi"], a[col], b[col]):
            assert same(x, y), f"{label} {key} {col}: full data {x}, cut data {y}"
    assert a["note"].tolist() == b["note"].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("label", ["2025-11", "2025-Q3"])
def test_cutting_every_table_gives_the_same_pages_and_exports(full, label, tmp_path):
    """Beyond the headline: every table a page shows, the lists behind the figures and the exports."""
    from kpilib.report import pages
    from kpilib.report.drill import churned_accounts, movement_accounts, nps_drills
    from kpilib.report.export import customer_rows, movement_rows

    period = kpi.parse_period(label)
    export_cut_at(period.end_date, tmp_path)
    models = KpiModel(full, period), KpiModel(kpi.load_dataset(str(tmp_path)), period)
    frames = {
        "movements.csv": movement_rows, "customers.csv": customer_rows, "movement lists": movement_accounts,
        "churned": churned_accounts, "by segment": lambda m: m.breakdown("segment"),
        "by plan": lambda m: m.breakdown("plan"), "bridge": pages.bridge_trend, "funnel": pages.funnel_table,
        "channels": pages.channel_table, "reps": pages.rep_table, "NPS by segment": pages.nps_segment_table,
        "comments": pages.comments_table, "engagement": pages.engagement_table,
        "unit economics": lambda m: m.unit_economics[0], "costs": pages.costs_table,
        "NPS answers": lambda m: pd.concat([d.rows for d in nps_drills(m)]),
        "cohorts": lambda m: m.cohort_matrix("logo"), "segment retention": lambda m: m.segment_retention(),
    }
    for what, frame in frames.items():
        a, b = (frame(m) for m in models)
        assert (a is None) == (b is None), what
        if a is not None:
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False,
                                          check_index_type=False, obj=f"{label} {what}")


@pytest.mark.parametrize("day", ["2024-06-30", "2025-11-30"])
def test_each_table_cut_when_first_read_is_the_export_taken_that_day(full, day, tmp_path):
    # the lazy cut, table by table, against the independent export cut at the same day
    end = pd.Timestamp(day)
    export_cut_at(end, tmp_path)
    exported = kpi.load_dataset(str(tmp_path))
    cut = as_of(full, end)
    assert set(cut.tables.read()) == {"customers"}  # nothing else is cut before it is read
    assert list(cut.tables) == list(full.tables) and "leads" in cut.tables and "nothing" not in cut.tables
    assert set(cut.tables.read()) == {"customers"}  # asking which tables exist cuts none
    for name in full.tables:
        pd.testing.assert_frame_equal(cut.tables[name].reset_index(drop=True),
                                      exported.tables[name].reset_index(drop=True), obj=name)
    assert cut.tables["leads"] is cut.tables["leads"]  # cut once
    assert pickle.loads(pickle.dumps(cut.tables)).keys() == full.tables.keys()  # pickled: a plain dict


def test_a_snapshot_keeps_the_cuts_its_models_read_and_a_kernel_cuts_the_rest(full, tmp_path):
    from kpilib.report.snapshot import load_snapshot, write_snapshot

    model = KpiModel(full, "2025-12")
    previous = model.previous
    previous.monthly  # noqa: B018 - reads subscriptions and fx_rates of November, nothing else
    unread = [name for name in full.tables if name not in previous.data.tables.read()]
    assert "product_usage" in unread
    write_snapshot(model, ("k",), tmp_path / "model.pickle")
    read_back, _ = load_snapshot(tmp_path / "model.pickle", ("k",))
    assert set(read_back.data.tables.read()) == set(full.tables)  # the period's own tables: all written
    november = read_back.previous.data.tables
    assert not set(unread) & set(november.read())  # never cut by the runner: not in the file
    fresh = as_of(full, pd.Timestamp("2025-11-30"))
    for name in full.tables:  # those read back, and those cut now from the mapped source
        pd.testing.assert_frame_equal(november[name], fresh.tables[name], obj=name)
    # a page asking whether a table has rows reads the snapshot's row counts, not the table
    again, _ = load_snapshot(tmp_path / "model.pickle", ("k",))
    store = again.data.tables.given._store  # the period's cut, all read from the file
    assert again.has_rows("product_usage") and not store._frames
    empty = KpiModel(kpi.Dataset(tables={**full.tables, "product_usage": full.tables["product_usage"].iloc[:0]},
                                 source="t"), "2025-12")
    write_snapshot(empty, ("e",), tmp_path / "empty.pickle")
    assert not load_snapshot(tmp_path / "empty.pickle", ("e",))[0].has_rows("product_usage")
    assert not model.has_rows("no_such_table") and model.has_rows("leads") == (model.table("leads") is not None)


def test_every_dated_column_of_the_contract_has_an_as_of_rule():
    for name, table in TABLES.items():
        cut = CUTS[name]
        dated = {c.name for c in table.columns if c.kind in ("date", "month")}
        covered = ({cut.row_date} if cut.row_date else set()) | set(cut.state_dates)
        assert dated <= covered, f"{name}: {sorted(dated - covered)} have no as-of rule"


def test_as_of_blanks_later_events_and_drops_later_rows():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "name": ["A", "B"], "segment": ["SMB"] * 2,
                              "region": ["NA"] * 2, "acquisition_channel": ["x"] * 2,
                              "created_at": pd.to_datetime(["2025-01-05", "2025-03-02"])})
    subs = pd.DataFrame({"subscription_id": ["s1", "s2", "s3"], "customer_id": ["a", "a", "b"],
                         "plan": ["p"] * 3,
                         "start_date": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-03-02"]),
                         "end_date": pd.to_datetime(["2025-02-10", "2025-06-01", None]),
                         "amount": [100.0, 150.0, 80.0], "billing_interval": ["month"] * 3,
                         "currency": ["USD"] * 3})
    leads = pd.DataFrame({"lead_id": ["l1"], "created_at": pd.to_datetime(["2025-01-20"]),
                          "channel": ["x"], "owner": ["r"], "mql_at": pd.to_datetime(["2025-02-01"]),
                          "sql_at": pd.to_datetime(["2025-03-01"]), "opportunity_at": pd.NaT,
                          "trial_started_at": pd.NaT, "activated_at": pd.NaT,
                          "closed_at": pd.to_datetime(["2025-03-02"]), "outcome": ["won"],
                          "amount": [960.0], "customer_id": ["b"]})
    ds = kpi.Dataset(tables={"customers": customers, "subscriptions": subs, "leads": leads}, source="t")
    cut = as_of(ds, "2025-02-28")
    assert cut.customers["customer_id"].tolist() == ["a"]
    assert cut.subscriptions["subscription_id"].tolist() == ["s1", "s2"]
    assert cut.subscriptions["end_date"].isna().tolist() == [False, True]  # June's end not yet known
    lead = cut.tables["leads"].iloc[0]
    assert pd.isna(lead["sql_at"]) and pd.isna(lead["closed_at"]) and pd.isna(lead["outcome"])
    assert pd.isna(lead["customer_id"]) and lead["mql_at"] == pd.Timestamp("2025-02-01")
    assert len(ds.subscriptions) == 3 and not ds.subscriptions["end_date"].isna().iloc[1]  # input untouched


def test_november_nps_uses_no_december_answers(full):
    model = KpiModel(full, "2025-11")
    survey = full.tables["survey_responses"]
    nps = survey[(survey["survey"] == "nps")]
    q3 = nps[nps["responded_at"].between("2025-07-01", "2025-09-30")]["score"]
    expected = 100 * ((q3 >= 9).mean() - (q3 <= 6).mean())
    voice = model.voice("nps")
    assert voice["wave"].label == "2025-Q3"
    assert voice["nps"] == pytest.approx(expected, abs=1e-9)
    assert model.previous_voice("nps")["wave"].label == "2025-Q2"
    assert (model.data.tables["survey_responses"]["responded_at"] <= "2025-11-30").all()


def test_a_year_reports_all_of_its_answers(full):
    survey = full.tables["survey_responses"]
    year = survey[(survey["survey"] == "nps") & survey["responded_at"].dt.year.eq(2025)]["score"]
    voice = KpiModel(full, "2025").voice("nps")
    assert voice["n"] == len(year) and len(year) > 1000
    assert voice["nps"] == pytest.approx(100 * ((year >= 9).mean() - (year <= 6).mean()))


def test_survey_waves_close_with_their_quarter():
    from kpilib.metrics.voice import survey_wave

    answers = pd.DataFrame({"survey": ["nps"] * 4, "score": [10, 9, 3, 8],
                            "responded_at": pd.to_datetime(["2025-03-25", "2025-03-28", "2025-06-20",
                                                            "2025-06-27"])})
    wave = lambda label, **kw: survey_wave(answers, kpi.parse_period(label), **kw)  # noqa: E731
    assert wave("2025-02") is None  # nothing closed yet: the page says so
    assert wave("2025-03").label == "2025-Q1"
    assert wave("2025-05").label == "2025-Q1"  # Q2's wave has not closed in May
    assert wave("2025-06").label == "2025-Q2"
    assert wave("2025-Q2").label == "2025-Q2"
    assert wave("2025-06", before=wave("2025-06")).label == "2025-Q1"
    assert wave("2025-03", before=wave("2025-03")) is None
    assert wave("2025").label == "2025" and wave("2024") is None
    assert survey_wave(answers, kpi.parse_period("2025-06"), "enps") is None
