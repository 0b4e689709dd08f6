"""Every notebook runs on every contract-valid dataset, however thin.

Each dataset below is written as CSV files and loaded through the contract, exactly as a
user's export would be. Every code cell of every notebook then runs on it, in process
(the notebooks' cells are plain Python over kpilib, so running them here is the same code a
kernel runs, without a kernel start per case). A page may say that something is missing;
it must never raise.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kpilib as kpi  # noqa: E402
from kpilib.paths import NOTEBOOKS_DIR, SAMPLE_DATA_DIR  # noqa: E402
from kpilib.report.sitemap import NOTEBOOKS  # noqa: E402


def _sample(n_customers: int = 60) -> dict[str, pd.DataFrame]:
    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in SAMPLE_DATA_DIR.glob("*.csv")}
    keep = set(frames["customers"]["customer_id"].iloc[:n_customers])
    for name, df in frames.items():
        if "customer_id" in df.columns and name != "leads":
            frames[name] = df[df["customer_id"].isin(keep)]
    leads = frames["leads"]
    leads.loc[~leads["customer_id"].isin(keep), "customer_id"] = ""
    frames["survey_responses"] = frames["survey_responses"][
        (frames["survey_responses"]["survey"] == "enps") | frames["survey_responses"]["respondent_id"].isin(keep)]
    return frames


def _header_only(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[:0]


def one_customer() -> tuple[dict[str, pd.DataFrame], str, str]:
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Solo Ltd"], "segment": ["SMB"],
                              "region": ["EMEA"], "acquisition_channel": ["Referral"],
                              "created_at": ["2025-03-10"]})
    subs = pd.DataFrame({"subscription_id": ["S1"], "customer_id": ["C1"], "plan": ["Starter"],
                         "start_date": ["2025-03-10"], "end_date": [""], "amount": ["49"],
                         "billing_interval": ["month"], "currency": ["USD"]})
    return {"customers": customers, "subscriptions": subs}, "2025-03", "all"


def first_month_of_the_data():
    frames = _sample()
    first = min(frames["subscriptions"]["start_date"])[:7]
    return frames, first, "all"


def no_survey_no_leads_no_traffic():
    frames = _sample()
    for name in ("survey_responses", "leads", "web_traffic", "sales_activities", "product_usage",
                 "marketing_spend", "financials"):
        frames[name] = _header_only(frames[name])
    return frames, "2025-12", "all"


def quarter_without_a_survey_wave():
    frames = _sample()
    sr = frames["survey_responses"]
    frames["survey_responses"] = sr[sr["responded_at"] < "2025-01-01"]
    return frames, "2025-Q4", "all"


def segment_of_three_accounts():
    frames = _sample()
    customers = frames["customers"].copy()
    customers.loc[customers.index[:3], "segment"] = "Tiny"
    frames["customers"] = customers
    return frames, "2025-12", "Tiny"


def no_churn_ever():
    frames = _sample()
    frames["subscriptions"] = frames["subscriptions"].assign(end_date="")
    return frames, "2025", "all"


def only_the_required_tables():
    frames = _sample()
    return {k: frames[k] for k in ("customers", "subscriptions", "fx_rates")}, "2025-06", "all"


def the_data_on_the_first_of_december():
    """The issue's case: the sample as exported on 1 December, reported for November."""
    frames = _sample()
    for name, df in frames.items():
        for col in ("responded_at", "date", "created_at", "start_date"):
            if col in df.columns:
                frames[name] = df = df[df[col] <= "2025-11-30"]
        for col in ("month",):
            if col in df.columns:
                frames[name] = df = df[df[col] <= "2025-11"]
    return frames, "2025-11", "all"


def leads_but_none_in_the_period():
    """Leads exist, but none was created, moved or closed in the period (a quiet December)."""
    frames = _sample()
    leads = frames["leads"]
    dates = ["created_at", "mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at", "closed_at"]
    inside = leads[dates].apply(lambda col: col.str[:7].eq("2025-12")).any(axis=1)
    frames["leads"] = leads[~inside]
    return frames, "2025-12", "all"


def nobody_ever_paid():
    """Every subscription free: no customer pays at any month end (the churn page's survival chart crashed)."""
    frames = _sample()
    frames["subscriptions"] = frames["subscriptions"].assign(amount="0")
    return frames, "2025-12", "all"


def a_segment_that_never_paid():
    """The rest of the company pays; the segment's only account is on a free plan."""
    frames = _sample()
    customers, subs = frames["customers"].copy(), frames["subscriptions"].copy()
    free = customers["customer_id"].iloc[0]
    customers.loc[customers.index[0], "segment"] = "Startup"
    subs.loc[subs["customer_id"] == free, "amount"] = "0"
    frames["customers"], frames["subscriptions"] = customers, subs
    return frames, "2025-12", "Startup"


CASES = [the_data_on_the_first_of_december, one_customer, first_month_of_the_data, no_survey_no_leads_no_traffic,
         quarter_without_a_survey_wave, leads_but_none_in_the_period,
         segment_of_three_accounts, no_churn_ever, only_the_required_tables, nobody_ever_paid,
         a_segment_that_never_paid]
#: Built end to end through `kpi report` for their own period and segment (a failing cell fails the
#: build, and the pages are checked for NaN/inf there), so they need no run cell by cell as well.
WHOLE_PACK = [(one_customer, None), (segment_of_three_accounts, None), (no_survey_no_leads_no_traffic, "2025-Q3")]
CELL_BY_CELL = [case for case in CASES if (case, None) not in WHOLE_PACK]


def _cells(name: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    return [c.source for c in nb.cells[1:] if c.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CELL_BY_CELL, ids=lambda c: c.__name__)
def test_every_page_runs(case, tmp_path, monkeypatch):
    frames, period, segment = case()
    for name, df in frames.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    shown: list[object] = []
    # what a page shows as HTML; a chart (a Figure, shown by kpi.chart with its alt text) is drawn and closed
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(
        o for o in objs if not isinstance(o, matplotlib.figure.Figure)))
    # every page reads one model of the case, as every page of a pack reads the runner's snapshot
    load, models = kpi.KpiModel.load, {}

    def shared(*args, **kw):
        key = (args, tuple(sorted(kw.items())))
        if key not in models:
            models[key] = load(*args, **kw)
        return models[key]

    monkeypatch.setattr(kpi.KpiModel, "load", shared)
    for name in NOTEBOOKS:
        namespace = {"period": period, "data": str(tmp_path), "base_currency": "USD", "segment": segment,
                     "lang": "en"}
        for i, source in enumerate(_cells(name)):
            try:
                result = _run(source, namespace)
            except Exception as exc:  # noqa: BLE001 - the test reports which page and cell
                raise AssertionError(f"{case.__name__}: {name} cell {i + 2} raised "
                                     f"{type(exc).__name__}: {exc}") from exc
            if result is not None:
                shown.append(result)
        plt.close("all")
    assert len(shown) >= 10, "the pages showed next to nothing: did the cells run?"
    if case in (the_data_on_the_first_of_december, quarter_without_a_survey_wave):  # 60 accounts, all from 2021
        said = [obj.data for obj in shown if "there is no recent cohort to show" in str(getattr(obj, "data", ""))]
        assert len(said) == 3, "both heatmaps and the cohort lists say that no cohort is recent"
    for obj in shown:  # whatever a page shows renders as HTML without NaN/inf leaking as text
        html = obj._repr_html_() if hasattr(obj, "_repr_html_") else (obj.to_html() if hasattr(obj, "to_html") else "")
        assert ">inf<" not in html and ">nan<" not in html.lower()


def _run(source: str, namespace: dict) -> object:
    """Run a cell like a kernel does: statements, then the value of a last bare expression."""
    import ast

    tree = ast.parse(source)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last is not None else tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), namespace)  # noqa: S102
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


def test_the_empty_cases_say_what_is_missing(tmp_path):
    frames, period, _ = no_survey_no_leads_no_traffic()
    for name, df in frames.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    model = kpi.KpiModel.load(str(tmp_path), period)
    note = kpi.missing_note(model, ["survey_responses", "leads"]).data
    assert "survey_responses&#x27;, &#x27;leads" in note and "left out" in note
    h = kpi.page_headline(model).set_index("kpi")
    assert np.isnan(h.loc["nps", "value"]) and "no survey wave closed" in h.loc["nps", "note"]
    assert np.isnan(h.loc["win_rate", "value"]) and np.isnan(h.loc["bounce_rate", "value"])


@pytest.mark.slow
@pytest.mark.parametrize(("case", "period"), WHOLE_PACK, ids=lambda c: getattr(c, "__name__", str(c)))
def test_the_whole_pack_builds_on_thin_data(case, period, tmp_path, capsys):
    """Through `kpi report`: every page rendered, the index, kpis.json and the exports written. (Without
    any event table the 60 accounts' data end in October: a December pack is refused, exit 4, so that
    case builds its third quarter.)"""
    import json

    from kpilib.cli import main

    frames, default, segment = case()
    period = period or default
    data = tmp_path / "data"
    data.mkdir()
    for name, df in frames.items():
        df.to_csv(data / f"{name}.csv", index=False)
    args = ["report", "--data", str(data), "--period", period, "--out", str(tmp_path / "out"),
            "--no-progress"] + (["--segment", segment] if segment != "all" else [])
    assert main(args) == 0, capsys.readouterr().err
    pack = next(p for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.name.startswith("."))
    for name in NOTEBOOKS:
        html = (pack / f"{name}.html").read_text(encoding="utf-8")
        assert len(html) > 10_000, name
        assert ">inf<" not in html and ">nan<" not in html.lower(), name  # no NaN/inf shown as a figure
    for name in ("index.html", "glossary.html", "kpis.json", "kpis.csv", "movements.csv", "customers.csv",
                 "kpis.xlsx", "manifest.json"):
        assert (pack / name).exists(), name
    figures = json.loads((pack / "kpis.json").read_text(encoding="utf-8"))
    text = json.dumps(figures)
    assert "Infinity" not in text and "NaN" not in text
