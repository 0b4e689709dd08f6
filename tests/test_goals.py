"""Goals and annotations: the goals file's rules and their errors, the goal and gap of each KPI
(kpis.json, tiles, the headline table), the words of progress, and what the charts draw."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import kpilib as kpi
from kpilib import GoalsError
from kpilib.data.goals import read_goals
from kpilib.data.sample import SAMPLE_GOALS
from kpilib.paths import SAMPLE_DATA_DIR
from kpilib.report import titles
from kpilib.report.goals import check_goals, dated_annotations, goal_points, goal_value
from kpilib.report.model import KpiModel
from kpilib.report.overview import headline_kpis, kpi_table


@pytest.fixture(scope="module")
def sample() -> kpi.Dataset:
    return kpi.load_dataset("sample")


@pytest.fixture(scope="module")
def december(sample) -> KpiModel:
    return KpiModel(sample, "2025-12")


def goals_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "goals.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sample_folder(tmp_path: Path, goals: str | None) -> Path:
    """The sample's tables (linked, not copied) with ``goals`` as its goals file (None: no file)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for table in SAMPLE_DATA_DIR.glob("*.csv"):
        (folder / table.name).symlink_to(table)
    if goals is not None:
        (folder / "goals.yaml").write_text(goals, encoding="utf-8")
    return folder


# --- the file's rules --------------------------------------------------------------------------

BROKEN = {
    "a month that does not exist": ("goals:\n  mrr:\n    2025-13: 5\n", "goals.mrr.2025-13", "period must be"),
    "a percent sign": ("goals:\n  nrr:\n    2025-12: 105%\n", "goals.nrr.2025-12", "0.02 for 2 %"),
    "text for a number": ("goals:\n  mrr:\n    2025-12: lots\n", "goals.mrr.2025-12", "must be a number"),
    "infinity": ("goals:\n  mrr:\n    2025-12: .inf\n", "goals.mrr.2025-12", "finite"),
    "a typo in a section": ("goal:\n  mrr: {2025-12: 1}\n", "goal", "unknown key"),
    "a period written twice": ("goals:\n  mrr:\n    2025-12: 1\n    2025-12: 2\n", "2025-12", "written twice"),
    "one period in two spellings": ("goals:\n  mrr:\n    2025-Q4: 1\n    2025q4: 2\n", "goals.mrr.2025q4",
                                    "same period"),
    "a bad KPI key": ("goals:\n  MRR!: {2025-12: 1}\n", "goals.MRR!", "lower-case"),
    "goals as a list": ("goals: [1, 2]\n", "goals", "must map KPI keys"),
    "a KPI without periods": ("goals:\n  mrr: 5\n", "goals.mrr", "must map periods"),
    "a lower-case currency": ("currency: usd\n", "currency", "ISO 4217"),
    "an impossible date": ("annotations:\n  - {date: 2025-02-30, label: x}\n", "annotations[0].date", "YYYY-MM-DD"),
    "an annotation without a label": ("annotations:\n  - {date: 2025-02-01}\n", "annotations[0]", "exactly a date"),
    "a label too long for a chart": ("annotations:\n  - {date: 2025-02-01, label: " + "x" * 41 + "}\n",
                                     "annotations[0].label", "1 to 40 characters"),
    "segments as a list": ("segments: [SMB]\n", "segments", "must map segment names"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_goals_file_names_the_file_the_key_and_the_rule(case, tmp_path):
    text, key, rule = BROKEN[case]
    path = goals_file(tmp_path, text)
    with pytest.raises(GoalsError) as info:
        read_goals(path)
    err = info.value
    assert key in str(err.key) and rule in err.rule, str(err)
    assert str(err).startswith(f"goals file {path}")
    assert isinstance(err, kpi.ContractError) and err.file == str(path)  # exit code 3, like a table


def test_a_yaml_syntax_error_gives_its_line(tmp_path):
    with pytest.raises(GoalsError, match=r"not valid YAML: found character '\\t'.*\(line 2\)"):
        read_goals(goals_file(tmp_path, "goals:\n\tmrr: {2025-12: 1}\n"))


def test_an_empty_goals_file_means_no_goals(tmp_path):
    goals = read_goals(goals_file(tmp_path, "# nothing planned yet\n"))
    assert goals.targets.empty and goals.annotations.empty and goals.currency is None


def test_the_file_parses_to_canonical_periods_and_sorted_annotations(tmp_path):
    goals = read_goals(goals_file(tmp_path, "goals:\n  mrr: {2025q4: 1_000, 2025: 2.5}\nannotations:\n"
                                            "  - {date: 2025-09-01, label: b}\n  - {date: 2025-03-01, label: a}\n"))
    assert goals.targets[["kpi", "period", "value"]].values.tolist() == [["mrr", "2025-Q4", 1000.0],
                                                                         ["mrr", "2025", 2.5]]
    assert goals.annotations["label"].tolist() == ["a", "b"]


def test_rules_that_need_the_registry_are_checked_when_the_model_is_built(tmp_path):
    unknown = read_goals(goals_file(tmp_path, "goals:\n  mrrr: {2025-12: 1}\n"))
    with pytest.raises(GoalsError, match=r"key 'goals.mrrr': no KPI is called 'mrrr'; the KPIs are mrr, arr"):
        check_goals(unknown)
    percent = read_goals(goals_file(tmp_path, "segments:\n  SMB:\n    customer_churn_monthly: {2025-12: 2}\n"))
    with pytest.raises(GoalsError, match=r"segments.SMB.customer_churn_monthly.2025-12': 2 is out of range: a share "
                                         r"is a fraction between 0 and 1 \(0.02 for 2 %\)"):
        check_goals(percent)
    growth = read_goals(goals_file(tmp_path, "goals:\n  nrr: {2025-12: 1.2}\n  mrr_growth: {2025: 2.5}\n"))
    check_goals(growth)  # NRR and growth may exceed 100 %
    with pytest.raises(GoalsError, match="a rate is a fraction between -1 and 10"):
        check_goals(read_goals(goals_file(tmp_path, "goals:\n  nrr: {2025-12: 105}\n")))
    ds = kpi.load_dataset(str(sample_folder(tmp_path, "goals:\n  mrrr: {2025-12: 1}\n")))  # the structure is fine
    with pytest.raises(GoalsError, match="mrrr"):
        KpiModel(ds, "2025-12")  # before any page is written


def test_kpi_validate_checks_the_goals_file_and_exits_3(tmp_path, capsys):
    from kpilib.cli import main

    folder = sample_folder(tmp_path, "currency: JPY\ngoals:\n  mrr: {2025-12: 1}\n")
    assert main(["validate", "--data", str(folder)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error (GoalsError): goals file ") and "key 'currency': JPY has no rate in fx_rates" in err
    (folder / "goals.yaml").write_text("goals:\n  mrr: {2025-12: 1}\n  ltv: {2025-12: 3}\n", encoding="utf-8")
    assert main(["validate", "--data", str(folder)]) == 3
    assert "no KPI is called 'ltv'" in capsys.readouterr().err
    (folder / "goals.yaml").write_text(SAMPLE_GOALS, encoding="utf-8")
    assert main(["validate", "--data", str(folder)]) == 0
    assert "15 goals, 2 annotations" in capsys.readouterr().out


def test_a_goals_file_given_on_the_command_line_replaces_the_folders(tmp_path, capsys):
    from kpilib.cli import main

    folder = sample_folder(tmp_path, SAMPLE_GOALS)
    other = tmp_path / "plan.yaml"
    other.write_text("goals:\n  mrr: {2025-12: 1500000}\n", encoding="utf-8")
    assert main(["validate", "--data", str(folder), "--goals", str(other)]) == 0
    assert "1 goals, 0 annotations" in capsys.readouterr().out
    ds = kpi.load_dataset(str(folder), goals=other)
    assert ds.goals.file == str(other) and ds.goals.targets["value"].tolist() == [1_500_000.0]
    missing = tmp_path / "nowhere.yaml"
    assert main(["validate", "--data", str(folder), "--goals", str(missing)]) == 3
    err = capsys.readouterr().err
    assert "GoalsError" in err and str(missing) in err and "no such file" in err


def test_the_committed_sample_goals_are_the_generators():
    assert (SAMPLE_DATA_DIR / "goals.yaml").read_text(encoding="utf-8") == SAMPLE_GOALS


# --- goal, gap and their words -------------------------------------------------------------------


def test_goal_and_gap_of_the_sample_december(december):
    h = headline_kpis(december).set_index("kpi")
    assert h.loc["mrr", "goal"] == 1_450_000.0
    assert h.loc["mrr", "gap"] == h.loc["mrr", "value"] - 1_450_000.0
    assert round(h.loc["mrr", "gap"], 2) == -53_553.01  # MRR 1,396,446.99 against 1,450,000
    assert h.loc["mrr", "goal_note"] == "Goal $1.45M: $53.6K short"
    assert h.loc["customer_churn_monthly", "goal_note"] == "Goal at most 2.0%: met, 0.3 pp below"
    assert h.loc["nrr", "goal_note"] == "Goal 105.0%: 4.0 pp short"
    assert np.isnan(h.loc["customers", "goal"]) and np.isnan(h.loc["customers", "gap"])
    assert h.loc["customers", "goal_note"] == ""


def test_goals_belong_to_one_period_label(sample):
    q4 = headline_kpis(KpiModel(sample, "2025-Q4")).set_index("kpi")
    assert q4.loc["mrr", "goal"] == 1_450_000.0 and np.isnan(q4.loc["nrr", "goal"])  # nrr has 2025-12 and 2025
    # monthly churn of Q4 is 2.07 %, 0.07 pp above its 2 % goal: the words say so with a non-zero gap
    assert q4.loc["customer_churn_monthly", "goal_note"] == "Goal at most 2.0%: 0.1 pp above it"
    november = headline_kpis(KpiModel(sample, "2025-11")).set_index("kpi")
    assert november["goal"].isna().all() and (november["goal_note"] == "").all()


def test_money_goals_convert_to_the_base_currency_and_the_gap_scales(sample):
    eur = KpiModel(kpi.load_dataset("sample", base_currency="EUR"), "2025-12")
    usd = KpiModel(sample, "2025-12")
    assert goal_value(eur, "mrr") == pytest.approx(1_450_000 / 1.08, rel=1e-12)
    assert goal_value(eur, "nrr") == goal_value(usd, "nrr") == 1.05  # a rate does not convert
    gap_eur = headline_kpis(eur).set_index("kpi").loc["mrr", "gap"]
    gap_usd = headline_kpis(usd).set_index("kpi").loc["mrr", "gap"]
    assert gap_eur == pytest.approx(gap_usd / 1.08, rel=1e-9)


def test_a_segment_pack_takes_only_its_own_goals(sample):
    enterprise = headline_kpis(KpiModel(sample, "2025-12", segment="Enterprise")).set_index("kpi")
    assert enterprise.loc["mrr", "goal"] == 600_000.0
    assert enterprise["goal"].notna().sum() == 1  # the company's ARR, NRR and churn goals are not the segment's
    smb = headline_kpis(KpiModel(sample, "2025-12", segment="SMB"))
    assert smb["goal"].isna().all()


def test_goal_progress_words_flip_with_the_sign_of_the_gap():
    assert titles.goal_progress(1_396_447, 1_450_000, "money", "higher") == "Goal $1.45M: $53.6K short"
    assert titles.goal_progress(1_131_559, 1_100_000, "money", "higher") == "Goal $1.1M: beaten by $31.6K"
    assert titles.goal_progress(100.0, 100.0, "money", "higher") == "Goal $100: met exactly"
    assert titles.goal_progress(100.004, 100.0, "money", "higher") == "Goal $100: met exactly"  # to the cent
    assert titles.goal_progress(100.25, 100.0, "money", "higher") == "Goal $100: beaten by $0.25"
    assert titles.goal_progress(0.0174, 0.02, "pct", "lower") == "Goal at most 2.0%: met, 0.3 pp below"
    assert titles.goal_progress(0.0201, 0.02, "pct", "lower") == "Goal at most 2.0%: 0.01 pp above it"
    assert titles.goal_progress(1.10, 1.05, "pct", "higher") == "Goal 105.0%: beaten by 5.0 pp"
    assert titles.goal_progress(12.0, 14.0, "months", "lower") == "Goal at most 14.0 months: met, 2.0 months below"
    assert titles.goal_progress(38.0, 40.0, "points", "higher") == "Goal +40: 2 points short"
    missing = titles.goal_progress(float("nan"), 0.02, "pct", "lower")
    assert missing == "Goal at most 2.0%: no value this period to compare"
    assert titles.goal_progress(0.5, float("nan"), "pct", "higher") == ""


def test_a_gap_that_is_not_zero_never_reads_zero():
    for value, goal, unit in [(0.020004, 0.02, "pct"), (100.01, 100.0, "money"), (3.001, 3.0, "ratio")]:
        words = titles.goal_progress(value, goal, unit, "higher")
        size = words.rsplit("by ", 1)[1]
        assert any(ch in "123456789" for ch in size), words


# --- what the pack carries -------------------------------------------------------------------------


def test_kpis_json_carries_goal_and_gap_to_the_cent(december, sample, tmp_path):
    from kpilib.report.runner import write_figures

    write_figures(tmp_path, december.period, sample, december)
    doc = json.loads((tmp_path / "kpis.json").read_text(encoding="utf-8"))
    rows = {r["kpi"]: r for r in doc["kpis"]}
    assert rows["mrr"]["goal"] == 1_450_000.0 and rows["mrr"]["gap"] == -53_553.01
    assert rows["mrr"]["gap"] == round(rows["mrr"]["value"] - rows["mrr"]["goal"], 2)
    assert rows["customer_churn_monthly"]["goal"] == 0.02
    assert rows["customers"]["goal"] is None and rows["customers"]["gap"] is None
    text = (tmp_path / "kpis.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    table = pd.read_csv(tmp_path / "kpis.csv").set_index("kpi")
    assert table.loc["mrr", "gap"] == -53_553.01 and pd.isna(table.loc["customers", "goal"])


def test_tiles_and_the_headline_table_show_progress_to_goal(december):
    tiles = kpi.tiles(december, ["mrr", "customers"]).data
    assert '<div class="delta goal">Goal $1.45M: $53.6K short</div>' in tiles
    assert tiles.count("delta goal") == 1  # customers has no goal: no line
    table = kpi_table(kpi.page_headline(december), december.period)
    assert table.loc["MRR", "Goal"] == "Goal $1.45M: $53.6K short" and table.loc["Paying customers", "Goal"] == ""


def test_without_a_goals_file_nothing_shows_a_goal(sample):
    bare = KpiModel(replace(sample, goals=None), "2025-12")
    h = headline_kpis(bare)
    assert h["goal"].isna().all() and h["gap"].isna().all() and (h["goal_note"] == "").all()
    assert "goal" not in kpi.tiles(bare).data
    assert "Goal" not in kpi_table(h, bare.period).columns
    assert dated_annotations(bare).empty and goal_points(bare, "mrr", bare.recent(24).index).empty
    fig = plt.figure()
    from kpilib.report.charts import mrr_trend

    mrr_trend(fig, bare)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["MRR"] and ax.get_legend() is None
    assert not ax.texts


# --- charts ----------------------------------------------------------------------------------------


def test_the_mrr_trend_draws_the_goals_and_the_annotations(december):
    from kpilib.report.charts import mrr_trend

    fig = plt.figure()
    mrr_trend(fig, december)
    ax = fig.axes[0]
    goal = next(line for line in ax.get_lines() if line.get_label() == "MRR goal")
    assert list(goal.get_ydata()) == [1_100_000.0, 1_450_000.0]  # June and December 2025 (December's own goal)
    assert [t.get_text() for t in ax.texts] == ["Price change", "Autumn campaign"]


def test_goal_points_put_a_quarter_or_a_year_at_its_last_month(december):
    months = pd.period_range("2025-01", "2026-12", freq="M")
    points = goal_points(december, "mrr", months)
    assert {str(k): v for k, v in points.items()} == {"2025-06": 1_100_000.0, "2025-12": 1_450_000.0,
                                                      "2026-06": 1_700_000.0, "2026-12": 2_000_000.0}


def test_annotations_follow_the_as_of_rule(sample):
    assert dated_annotations(KpiModel(sample, "2025-09"))["label"].tolist() == ["Price change"]
    assert dated_annotations(KpiModel(sample, "2025-12"))["label"].tolist() == ["Price change", "Autumn campaign"]


def test_the_forecast_chart_draws_history_band_committed_goal_and_events(december):
    from kpilib.report.charts import forecast

    fig = plt.figure()
    assert forecast(fig, december) is None
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"MRR", "Forecast", "Committed MRR", "MRR goal"} <= set(labels)
    goal = next(line for line in ax.get_lines() if line.get_label() == "MRR goal")
    assert list(goal.get_ydata()) == [1_100_000.0, 1_450_000.0, 1_700_000.0, 2_000_000.0]
    assert any(c.get_label() == "80% band" for c in ax.collections)
    central = next(line for line in ax.get_lines() if line.get_label() == "Forecast")
    assert central.get_ydata()[-1] == pytest.approx(december.forecast.forecast["central"].iloc[-1])
    assert ax.get_title() == titles.forecast_title(december.forecast.forecast, "USD")
