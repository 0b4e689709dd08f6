"""Exports of a pack: who is in each figure, as CSV files and one Excel workbook.

- ``movements.csv``: one row per customer and month of the period whose MRR was above zero before
  or after: MRR at the previous month end, at this month end, and the movement class (the same
  classification as :func:`kpilib.mrr_movements`, so the rows of a class add up to its figure).
- ``customers.csv``: every customer with MRR at the period's end, segment, plans and cohort.
- ``kpis.xlsx``: the headline figures, the monthly bridge, the breakdowns by segment and plan, the
  movements (the rows of movements.csv whose MRR moved: a customer whose MRR did not move adds
  nothing to any movement, and a closing row says how many such rows movements.csv adds) and the
  customers, one sheet each, formatted.

Every text cell a spreadsheet would run as a formula is neutralised (OWASP CSV injection).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .model import KpiModel

#: The breakdowns the workbook has a sheet of, by column (the pack computes them before its pages)
EXPORT_BREAKDOWNS = ("segment", "plan")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe.

    Only text columns change; numbers stay numbers (a negative amount is not a formula).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or str(values.dtype).startswith(("str", "string")):
            hit = values.str.startswith(_FORMULA_START, na=False)  # non-text cells of an object column: False
            if hit.any():
                out[column] = values.where(~hit, "'" + values[hit].astype(str))
    return out


def movement_rows(model: KpiModel) -> pd.DataFrame:
    """Per customer and month of the period: ``mrr_before``, ``mrr_after`` and ``movement``.

    Rows with MRR 0 on both sides are left out; ``unchanged`` marks a paying customer whose MRR
    did not move. Summed by class, ``mrr_after - mrr_before`` gives the period's movements. With
    dated rates ``mrr_before`` is the previous month's MRR at this month's rates and an
    ``fx_impact`` column holds its revaluation (summed: the bridge's FX impact row).
    """
    wide, revalued, p = model.wide, model.wide_revalued, model.period
    months = [m for m in p.months if m in wide.columns]
    info = model.data.customers.set_index("customer_id")[["name", "segment"]]
    paid_before = (wide.loc[:, wide.columns < p.first - 1] > 0).any(axis=1) if len(wide.columns) else \
        pd.Series(False, index=wide.index)
    frames = []
    for m in months:
        # the previous MRR at this month's rates (dated rates; the revaluation is the fx_impact column)
        before = revalued[m - 1] if m - 1 in wide.columns else pd.Series(0.0, index=wide.index)
        own = wide[m - 1] if m - 1 in wide.columns else before
        after = wide[m]
        was = paid_before | (before > 0)
        movement = np.select(
            [(before == 0) & (after > 0) & ~paid_before, (before == 0) & (after > 0),
             (before > 0) & (after == 0), after > before, after < before],
            ["new", "reactivation", "churn", "expansion", "contraction"], default="unchanged")
        frame = pd.DataFrame({"customer_id": wide.index, "month": str(m), "mrr_before": before.to_numpy(),
                              "mrr_after": after.to_numpy(), "movement": movement,
                              "fx_impact": (before - own).round(6).to_numpy()})
        frames.append(frame[(frame["mrr_before"] > 0) | (frame["mrr_after"] > 0)])
        paid_before = was | (after > 0)
    if not frames:
        return pd.DataFrame(columns=["customer_id", "name", "segment", "month", "mrr_before", "mrr_after",
                                     "movement"])
    out = pd.concat(frames, ignore_index=True).join(info, on="customer_id")
    columns = ["customer_id", "name", "segment", "month", "mrr_before", "mrr_after", "movement"]
    return out[columns + (["fx_impact"] if model.dated_rates else [])]


def joined_plans(subscriptions: pd.DataFrame) -> pd.Series:
    """Per customer of ``subscriptions``, its distinct plans sorted and joined: ``A + B``."""
    plans = subscriptions[["customer_id", "plan"]].drop_duplicates().sort_values(["customer_id", "plan"])
    alone = ~plans["customer_id"].duplicated(keep=False)  # most customers hold one plan: no join for them
    joined = plans[alone].set_index("customer_id")["plan"]
    if alone.all():
        return joined
    several = plans[~alone].groupby("customer_id", sort=False)["plan"].agg(" + ".join)
    return pd.concat([joined, several]).sort_index()


def customer_rows(model: KpiModel) -> pd.DataFrame:
    """Every customer: MRR at the period's end, segment, plans active then, cohort (first paid month)."""
    wide, end = model.wide, model.period.end_date
    customers = model.data.customers.set_index("customer_id")
    subs = model.data.subscriptions
    active = subs[(subs["start_date"] <= end) & (subs["end_date"].isna() | (subs["end_date"] > end))]
    plans = joined_plans(active)
    mrr = wide[model.period.last] if model.period.last in wide.columns else pd.Series(0.0, index=wide.index)
    out = pd.DataFrame({"customer_id": customers.index, "name": customers["name"].to_numpy(),
                        "segment": customers["segment"].to_numpy()})
    out["mrr"] = out["customer_id"].map(mrr).fillna(0.0).to_numpy()
    out["plans"] = out["customer_id"].map(plans).astype(object).fillna("").to_numpy()
    out["cohort"] = out["customer_id"].map(model.cohorts.astype(str)).astype(object).fillna("").to_numpy()
    return out.sort_values(["mrr", "customer_id"], ascending=[False, True], kind="stable")


def write_exports(pack: Path, model: KpiModel, headline: pd.DataFrame) -> list[Path]:
    """Write movements.csv, customers.csv and kpis.xlsx into the pack; return their paths."""
    movements, customers = movement_rows(model), customer_rows(model)
    neutralise(movements).to_csv(pack / "movements.csv", index=False)
    neutralise(customers).to_csv(pack / "customers.csv", index=False)
    moved = movements[movements["movement"] != "unchanged"]
    notes = {"Movements": f"{len(movements) - len(moved):,} more rows in movements.csv: the customers whose MRR "
                          "did not move (movement unchanged)"} if len(moved) < len(movements) else {}
    sheets = {
        "Headline": headline[["label", "unit", "value", "previous", "year_ago", "status", "target", "note", "goal",
                              "gap"]],
        "Monthly bridge": model.recent(24)[["opening_mrr", *(["fx_impact"] if model.dated_rates else []), "new",
                                            "expansion", "reactivation", "contraction", "churn", "closing_mrr",
                                            "customers"]].reset_index()
        .assign(month=lambda d: d["month"].astype(str)),
        **{f"By {by}": model.breakdown(by).reset_index() for by in EXPORT_BREAKDOWNS},
        "Movements": moved,
        "Customers": customers,
    }
    path = pack / "kpis.xlsx"
    _write_workbook(path, sheets, model.base_currency, notes)
    return [pack / "movements.csv", pack / "customers.csv", path]


_MONEY_COLUMNS = {"value", "previous", "year_ago", "goal", "gap", "opening_mrr", "new", "expansion", "reactivation",
                  "contraction", "churn", "closing_mrr", "mrr", "arpa", "net_new_mrr", "moved_in", "moved_out",
                  "mrr_before", "mrr_after", "fx_impact"}


#: Rows of an Excel sheet, the header included (Excel's own limit)
EXCEL_ROWS = 1_048_576
#: The CSV export that holds every row of a sheet
_FULL_EXPORT = {"Movements": "movements.csv", "Customers": "customers.csv"}


def _cells(column: pd.Series) -> list:
    """A column as the Python values a cell takes: NaN, inf and missing as empty, numpy scalars as
    Python ones (one conversion per column, not per cell)."""
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        out = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)):
            out[i] = None
        return out
    return [None if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)) else
            (v.item() if isinstance(v, np.generic) else v) for v in column.tolist()]


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame], currency: str,
                    notes: dict[str, str] | None = None) -> None:
    """The sheets, streamed (openpyxl's write-only mode: no sheet is held in memory as cells), money
    columns in the base currency's format. A sheet longer than Excel's limit keeps its first rows and
    ends with a row saying how many more there are, all of them in the pack's CSV export; ``notes``:
    a closing row for a sheet, by title."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    notes = notes or {}
    book = Workbook(write_only=True)
    money = f'#,##0.00 "{currency}"'
    bold = Font(bold=True)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        frame = neutralise(frame)
        room = EXCEL_ROWS - 2 - (title in notes)  # the header and the closing rows
        left_out = max(len(frame) - room, 0)
        if left_out:
            frame = frame.iloc[:room]
        for j, column in enumerate(frame.columns, start=1):
            sheet.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(str(column)) + 4))
        sheet.freeze_panes = "A2"
        header = []
        for column in frame.columns:
            cell = WriteOnlyCell(sheet, value=str(column))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        columns = [_cells(frame[c]) for c in frame.columns]
        # one styled cell per money column, given each row's value in turn: a write-only sheet writes
        # a row out as it is appended, so the cell is free again for the next row (a new styled cell
        # per value cost about 3 s at 100 copies of the sample)
        styled = {j: WriteOnlyCell(sheet) for j, c in enumerate(frame.columns)
                  if c in _MONEY_COLUMNS and title != "Headline"}
        for cell in styled.values():
            cell.number_format = money
        for values in zip(*columns):
            row = list(values)
            for j, cell in styled.items():
                cell.value, row[j] = row[j], cell
            sheet.append(row)
        if left_out:  # the workbook is a data export, in English like kpis.json and its sheet names
            where = _FULL_EXPORT.get(title, "the pack's CSV exports")
            sheet.append([f"... and {left_out:,} more rows (Excel holds {EXCEL_ROWS:,} rows a sheet): "
                          f"{where} has them all"])
        if title in notes:
            sheet.append([notes[title]])
    fixed = datetime(2000, 1, 1)  # no build time in a pack: the same inputs give the same bytes
    book.properties.created = book.properties.modified = fixed
    book.save(path)
    _fix_zip_times(path)


def _fix_zip_times(path: Path) -> None:
    """Rewrite a zip (an .xlsx) with every entry dated 1980-01-01, so its bytes depend on content only."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            # the fastest deflate level: a large workbook compresses in a fraction of the time, a little larger
            target.writestr(fixed, data, compresslevel=1)
