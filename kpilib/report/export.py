"""Exports of a pack: who is in each figure, as CSV files and one Excel workbook.

- ``movements.csv``: one row per customer and month of the period whose MRR was above zero before
  or after: MRR at the previous month end, at this month end, and the movement class (the same
  classification as :func:`kpilib.mrr_movements`, so the rows of a class add up to its figure).
- ``customers.csv``: every customer with MRR at the period's end, segment, plans and cohort.
- ``kpis.xlsx``: the headline figures, the monthly bridge, the breakdowns by segment and plan, and
  the two tables above, one sheet each, formatted.

Every text cell a spreadsheet would run as a formula is neutralised (OWASP CSV injection).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .model import KpiModel

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe.

    Only text columns change; numbers stay numbers (a negative amount is not a formula).
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith(("str", "string")):
            out[column] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                           for v in out[column]]
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


def customer_rows(model: KpiModel) -> pd.DataFrame:
    """Every customer: MRR at the period's end, segment, plans active then, cohort (first paid month)."""
    from ..metrics.cohorts import cohorts

    wide, end = model.wide, model.period.end_date
    customers = model.data.customers.set_index("customer_id")
    subs = model.data.subscriptions
    active = subs[(subs["start_date"] <= end) & (subs["end_date"].isna() | (subs["end_date"] > end))]
    plans = active.groupby("customer_id")["plan"].agg(lambda s: " + ".join(sorted(set(s))))
    mrr = wide[model.period.last] if model.period.last in wide.columns else pd.Series(0.0, index=wide.index)
    out = pd.DataFrame({"customer_id": customers.index, "name": customers["name"].to_numpy(),
                        "segment": customers["segment"].to_numpy()})
    out["mrr"] = out["customer_id"].map(mrr).fillna(0.0).to_numpy()
    out["plans"] = out["customer_id"].map(plans).fillna("").to_numpy()
    out["cohort"] = out["customer_id"].map(cohorts(wide).astype(str)).fillna("").to_numpy()
    return out.sort_values(["mrr", "customer_id"], ascending=[False, True], kind="stable")


def write_exports(pack: Path, model: KpiModel, headline: pd.DataFrame) -> list[Path]:
    """Write movements.csv, customers.csv and kpis.xlsx into the pack; return their paths."""
    movements, customers = movement_rows(model), customer_rows(model)
    neutralise(movements).to_csv(pack / "movements.csv", index=False)
    neutralise(customers).to_csv(pack / "customers.csv", index=False)
    sheets = {
        "Headline": headline[["label", "unit", "value", "previous", "year_ago", "status", "target", "note", "goal",
                              "gap"]],
        "Monthly bridge": model.recent(24)[["opening_mrr", *(["fx_impact"] if model.dated_rates else []), "new",
                                            "expansion", "reactivation", "contraction", "churn", "closing_mrr",
                                            "customers"]].reset_index()
        .assign(month=lambda d: d["month"].astype(str)),
        "By segment": model.breakdown("segment").reset_index(),
        "By plan": model.breakdown("plan").reset_index(),
        "Movements": movements,
        "Customers": customers,
    }
    path = pack / "kpis.xlsx"
    _write_workbook(path, sheets, model.base_currency)
    return [pack / "movements.csv", pack / "customers.csv", path]


_MONEY_COLUMNS = {"value", "previous", "year_ago", "goal", "gap", "opening_mrr", "new", "expansion", "reactivation",
                  "contraction", "churn", "closing_mrr", "mrr", "arpa", "net_new_mrr", "moved_in", "moved_out",
                  "mrr_before", "mrr_after", "fx_impact"}


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame], currency: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    money = f'#,##0.00 "{currency}"'
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        frame = neutralise(frame)
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([None if isinstance(v, float) and not np.isfinite(v) else
                          (v.item() if isinstance(v, np.generic) else v) for v in row])
        for j, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=j).column_letter
            sheet.column_dimensions[letter].width = max(10, min(40, len(str(column)) + 4))
            if column in _MONEY_COLUMNS and title != "Headline":
                for cell in sheet[letter][1:]:
                    cell.number_format = money
        sheet.freeze_panes = "A2"
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
            target.writestr(fixed, data)
