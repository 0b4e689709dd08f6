"""Restatements: an earlier pack's figures against the same period rebuilt from today's data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_report import make_notebook

from kpilib import KpiError, build_report, parse_period
from kpilib.cli import main
from kpilib.report.restatement import ACCOUNT_COLUMNS, Restatement, compare, diff_packs, earlier_pack, stored_value
from kpilib.report.titles import restatement_note

from conftest import TINY, write_table

MOVE_COLUMNS = ["customer_id", "name", "segment", "month", "mrr_before", "mrr_after", "movement"]


def figures(**values):
    units = {"mrr": "money", "customers": "count", "nrr": "pct"}
    return pd.DataFrame([(k, k.upper(), units[k], v) for k, v in values.items()],
                        columns=["kpi", "label", "unit", "value"])


def moves(*rows):
    return pd.DataFrame([(c, c.title(), "SMB", m, b, a, mv) for c, m, b, a, mv in rows], columns=MOVE_COLUMNS)


def test_compare_finds_each_changed_figure_and_customer_month():
    was = figures(mrr=1000.00, customers=10.0, nrr=0.981234)
    now = figures(mrr=1000.00, customers=11.0, nrr=0.981235)
    old = moves(("c1", "2025-11", 100.0, 100.0, "unchanged"), ("c2", "2025-11", 0.0, 50.0, "new"),
                ("c3", "2025-11", 20.0, 0.0, "churn"))
    new = moves(("c1", "2025-11", 100.0, 100.0, "unchanged"), ("c2", "2025-11", 0.0, 80.0, "new"),
                ("c4", "2025-11", 0.0, 5.0, "new"))
    changed, accounts = compare(was, now, old, new)
    assert changed[["kpi", "was", "now"]].values.tolist() == [["customers", 10.0, 11.0], ["nrr", 0.981234, 0.981235]]
    # largest change first: c2 (+30), c3 (20 -> gone: 20 before and after 0), c4 (+5)
    assert accounts["customer_id"].tolist() == ["c2", "c3", "c4"]
    c3 = accounts.set_index("customer_id").loc["c3"]
    assert (c3["mrr_before_was"], c3["mrr_before_now"], c3["movement_now"]) == (20.0, 0.0, "none")
    assert list(accounts.columns) == ACCOUNT_COLUMNS


def test_a_sub_cent_difference_is_not_a_restatement_but_a_cent_is():
    assert compare(figures(mrr=10.00), figures(mrr=stored_value(10.004, "money")), moves(), moves())[0].empty
    assert len(compare(figures(mrr=10.00), figures(mrr=10.01), moves(), moves())[0]) == 1
    old, new = moves(("c1", "2025-11", 1.0, 2.0, "expansion")), moves(("c1", "2025-11", 1.0, 2.004, "expansion"))
    assert compare(figures(), figures(), old, new)[1].empty


def test_undefined_on_one_side_only_is_a_change():
    changed, _ = compare(figures(nrr=None), figures(nrr=0.9), moves(), moves())
    assert changed["was"].isna().all() and changed["now"].tolist() == [0.9]
    assert compare(figures(nrr=None), figures(nrr=None), moves(), moves())[0].empty


def test_the_note_states_what_changed():
    assert restatement_note("November 2025", 0, 0, 0).startswith("Nothing restated")
    assert restatement_note("November 2025", 2, 3, 1) == (
        "Restated: 2 figures of the November 2025 pack changed when rebuilt from this data; "
        "3 customer-months moved, from 1 customer")
    assert restatement_note("Q3 2025", 1, 0, 0, later="in reports/2025-Q4") == (
        "Restated: 1 figure of the Q3 2025 pack changed in reports/2025-Q4, without a customer's MRR moving")
    assert restatement_note("X", 0, 0, 0, not_compared="not compared: in EUR").endswith("was not compared: in EUR")


def test_the_earlier_pack_is_the_latest_of_the_same_kind_and_scope(tmp_path):
    for name in ("2025-09", "2025-10", "2025-Q3", "2025-11-segment-smb", "2025-13", "notes", ".2025-11.building-x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kpis.json").write_text("{}")
    (tmp_path / "2025-11").mkdir()  # not a pack: no kpis.json
    assert earlier_pack(tmp_path, parse_period("2025-12"), "2025-12").name == "2025-10"
    assert earlier_pack(tmp_path, parse_period("2025-12"), "2025-12-segment-smb").name == "2025-11-segment-smb"
    assert earlier_pack(tmp_path, parse_period("2025-Q4"), "2025-Q4").name == "2025-Q3"
    assert earlier_pack(tmp_path, parse_period("2025-09"), "2025-09") is None
    assert earlier_pack(tmp_path / "absent", parse_period("2025-12"), "2025-12") is None


def test_the_record_round_trips_through_json():
    r = Restatement("2025-11", "2025-11", figures(mrr=1.0).rename(columns={"value": "was"}).assign(now=2.0),
                    pd.DataFrame([["c1", "C1", "2025-11", 0.0, 0.0, 1.0, 2.0, "new", "new"]], columns=ACCOUNT_COLUMNS),
                    currency="EUR")
    back = Restatement.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.note() == r.note() and back.lines() == r.lines() and back.currency == "EUR"


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("nbs")
    make_notebook(d, "ok", "print(period)")
    return d


@pytest.mark.slow
def test_an_edited_old_subscription_shows_as_a_restatement_on_the_index(tmp_path, page_dir, capsys):
    data, out = tmp_path / "data", tmp_path / "reports"
    data.mkdir()
    for name, rows in TINY.items():
        write_table(data, name, [dict(r) for r in rows])
    build_report("2024-01", data=str(data), out=out, notebook_dir=page_dir, progress=False)
    build_report("2024-02", data=str(data), out=out, notebook_dir=page_dir, progress=False)
    untouched = json.loads((out / "2024-02" / "manifest.json").read_text())["restatement"]
    assert untouched["against"] == "2024-01" and untouched["figures"] == [] and untouched["accounts"] == []
    assert "Nothing restated" in (out / "2024-02" / "index.html").read_text()

    subs = [dict(r) for r in TINY["subscriptions"]]
    subs[0]["amount"] = "150"  # Acme's January subscription, corrected after its pack was sent
    write_table(data, "subscriptions", subs)
    build_report("2024-02", data=str(data), out=out, notebook_dir=page_dir, progress=False)

    record = json.loads((out / "2024-02" / "manifest.json").read_text())["restatement"]
    mrr = next(f for f in record["figures"] if f["kpi"] == "mrr")
    assert (mrr["was"], mrr["now"]) == (100.0, 150.0)
    assert [(a["customer_id"], a["mrr_after_was"], a["mrr_after_now"]) for a in record["accounts"]] == [
        ("c1", 100.0, 150.0)]
    index = (out / "2024-02" / "index.html").read_text()
    assert "Restated since the" in index and "Acme" in index and "$150" in index
    assert json.loads((out / "2024-01" / "kpis.json").read_text())["kpis"][0]["value"] == 100.0  # untouched

    assert main(["diff", str(out / "2024-01"), str(out / "2024-02")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Restated: ") and "MRR: $100 -> $150" in printed and "c1 Acme 2024-01" in printed


@pytest.mark.slow
def test_diff_of_the_same_period_built_twice_and_of_unrelated_packs(tmp_path, page_dir):
    data, a, b = tmp_path / "data", tmp_path / "a", tmp_path / "b"
    data.mkdir()
    for name, rows in TINY.items():
        write_table(data, name, [dict(r) for r in rows])
    build_report("2024-02", data=str(data), out=a, notebook_dir=page_dir, progress=False)
    subs = [dict(r) for r in TINY["subscriptions"]]
    subs[1]["amount"] = "2400"  # c2's annual plan doubles: February MRR +110 (EUR at 1.1)
    write_table(data, "subscriptions", subs)
    build_report("2024-02", data=str(data), out=b, notebook_dir=page_dir, progress=False)
    r = diff_packs(a / "2024-02", b / "2024-02")
    mrr = r.figures.set_index("kpi").loc["mrr"]
    assert mrr["now"] - mrr["was"] == pytest.approx(110.0)
    assert r.accounts[["customer_id", "month"]].values.tolist() == [["c2", "2024-02"]]
    build_report("2024-01", data=str(data), out=b, notebook_dir=page_dir, progress=False)
    # b/2024-02 was built before b/2024-01 existed: its previous-period column is what can be compared
    previous = diff_packs(b / "2024-01", b / "2024-02")
    assert not previous.changed and not previous.accounts_compared and "same figures as" in previous.note()
    with pytest.raises(KpiError, match="share no period"):
        diff_packs(a / "2024-02", b / "2024-01")
    (b / "2023-11").mkdir()
    with pytest.raises(KpiError, match="not a readable report pack"):
        diff_packs(b / "2023-11", b / "2024-02")
