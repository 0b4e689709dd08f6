"""Exports: who is in each figure, re-importable, and never a live formula."""

from __future__ import annotations

import pandas as pd
import pytest

import kpilib as kpi
from kpilib.report.export import customer_rows, joined_plans, movement_rows, write_exports


@pytest.fixture(scope="module")
def model():
    return kpi.KpiModel(kpi.load_dataset(None), "2025-Q4")


def test_movement_rows_add_up_to_the_period_movements(model):
    rows = movement_rows(model)
    change = (rows["mrr_after"] - rows["mrr_before"]).groupby(rows["movement"]).sum()
    for kind in ("new", "expansion", "reactivation", "contraction", "churn"):
        assert change.get(kind, 0.0) == pytest.approx(model.revenue[kind], abs=0.01), kind
    assert change.get("unchanged", 0.0) == 0
    assert set(rows["month"]) == {"2025-10", "2025-11", "2025-12"}


def test_customer_rows_sum_to_mrr_and_carry_cohorts(model):
    rows = customer_rows(model)
    assert rows["mrr"].sum() == pytest.approx(model.revenue["mrr"], abs=0.01)
    assert (rows["mrr"] > 0).sum() == model.revenue["customers"]
    paying = rows[rows["mrr"] > 0]
    assert (paying["cohort"] != "").all() and (paying["plans"] != "").all()


def test_a_customer_s_plans_are_joined_once_each_in_order():
    subs = pd.DataFrame({"customer_id": ["c2", "c1", "c2", "c3", "c2", "c1"],
                         "plan": ["Pro", "Basic", "Basic", "Team", "Pro", "Basic"]})
    assert joined_plans(subs).to_dict() == {"c1": "Basic", "c2": "Basic + Pro", "c3": "Team"}
    assert joined_plans(subs[subs["customer_id"] != "c2"]).to_dict() == {"c1": "Basic", "c3": "Team"}
    assert joined_plans(subs.iloc[:0]).empty


def test_hostile_names_never_become_formulas_in_the_workbook(tiny_dir, tmp_path):
    from openpyxl import load_workbook

    from conftest import TINY, write_table

    customers = [dict(r) for r in TINY["customers"]]
    customers[0]["name"] = '=HYPERLINK("http://evil.example","click")'
    customers[1]["name"] = "@SUM(1+1)"
    write_table(tiny_dir, "customers", customers)
    model = kpi.KpiModel(kpi.load_dataset(str(tiny_dir)), "2024-03")
    headline = kpi.headline_kpis(model)
    paths = write_exports(tmp_path, model, headline)
    book = load_workbook(paths[-1])
    assert {"Headline", "Monthly bridge", "By segment", "By plan", "Movements", "Customers"} <= set(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {sheet.title}!{cell.coordinate}: {cell.value}"
    names = [c.value for c in book["Customers"]["B"][1:]]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in names and "'@SUM(1+1)" in names
    csv = pd.read_csv(tmp_path / "customers.csv")
    assert csv["name"].str.startswith(("=", "@", "+", "-")).sum() == 0
    assert csv["mrr"].sum() == pytest.approx(model.revenue["mrr"])  # re-imports to the figure shown


@pytest.mark.slow
def test_the_workbook_is_byte_identical_for_the_same_inputs(model, tmp_path):
    import time

    headline = kpi.headline_kpis(model)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_exports(tmp_path / "a", model, headline)
    time.sleep(1.1)  # a clock-dependent writer would now differ
    second = write_exports(tmp_path / "b", model, headline)
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_sheet_longer_than_excel_allows_ends_with_a_note_naming_the_csv(model, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from kpilib.report import export

    monkeypatch.setattr(export, "EXCEL_ROWS", 6)  # Excel's 1,048,576 rows, made small
    headline = kpi.headline_kpis(model)
    customers = customer_rows(model)
    assert len(customers) > 5
    book = load_workbook(write_exports(tmp_path, model, headline)[-1])
    rows = [[c.value for c in r] for r in book["Customers"].iter_rows()]
    assert len(rows) == 6 and rows[0][:2] == ["customer_id", "name"]
    assert [r[0] for r in rows[1:5]] == customers["customer_id"].iloc[:4].tolist()
    assert rows[5][0] == (f"... and {len(customers) - 4:,} more rows (Excel holds 6 rows a sheet): "
                          "customers.csv has them all")
    assert book["Customers"].freeze_panes == "A2"
    money = book["Customers"]["D2"]
    assert money.number_format == '#,##0.00 "USD"' and money.value == customers["mrr"].iloc[0]


@pytest.mark.slow
def test_the_movements_sheet_lists_the_customers_whose_mrr_moved(model, tmp_path):
    from openpyxl import load_workbook

    path = write_exports(tmp_path, model, kpi.headline_kpis(model))[-1]
    csv = pd.read_csv(tmp_path / "movements.csv")
    rows = list(load_workbook(path)["Movements"].iter_rows(values_only=True))
    header, body, closing = rows[0], rows[1:-1], rows[-1]
    sheet = pd.DataFrame(body, columns=header)
    moved = csv[csv["movement"] != "unchanged"].reset_index(drop=True)
    assert len(moved) < len(csv) and "unchanged" not in set(sheet["movement"])
    pd.testing.assert_frame_equal(sheet, moved, check_dtype=False)  # every moved row, in the CSV's order
    change = (sheet["mrr_after"] - sheet["mrr_before"]).groupby(sheet["movement"]).sum()
    for kind in ("new", "expansion", "reactivation", "contraction", "churn"):
        assert change.get(kind, 0.0) == pytest.approx(model.revenue[kind], abs=0.01), kind
    assert closing[0] == (f"{len(csv) - len(moved):,} more rows in movements.csv: the customers whose MRR did not "
                          "move (movement unchanged)") and set(closing[1:]) <= {None}
    formats = {(cell.column_letter, cell.number_format) for row in load_workbook(path)["Movements"].iter_rows(min_row=2)
               for cell in row[:len(header)] if cell.value is not None and cell.row < len(rows)}
    money = {"E", "F"}  # mrr_before, mrr_after: each row's own styled cell
    assert header[4:6] == ("mrr_before", "mrr_after")
    assert {f for c, f in formats if c in money} == {'#,##0.00 "USD"'}
    assert {f for c, f in formats if c not in money} == {"General"}
