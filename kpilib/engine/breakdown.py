"""MRR and the period's movements per segment (or region, or channel), computed in the engine.

The definition is :func:`kpilib.metrics.revenue.revenue_breakdown`'s for a customers column: a customer
belongs to one group, so each month's movement is classified on its total MRR, as for the company, and
credited to its group; no customer moves between groups (moved in and moved out are 0), and the groups
add up to the company. From the change cells of :mod:`kpilib.engine.movements`, per customer its MRR at
the month end before the period and at its end, and its changes inside the period summed per kind; then
the same summed per group. Only groups x figures leave the engine.

A subscriptions column (``plan``: a customer may move between plans) is not computed in the engine yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.mrr import MICROS
from ..metrics.revenue import GROUP_FLOWS, ratio
from ..periods import ReportPeriod, parse_period
from .movements import _CHURN, _CONTRACTION, _EXPANSION, _NEW, _REACTIVATION, Engine, _changes, _groups, _rows

_KINDS = {"new": _NEW, "expansion": _EXPANSION, "reactivation": _REACTIVATION, "contraction": _CONTRACTION,
          "churn": _CHURN}


def engine_breakdown(engine: Engine, period: ReportPeriod | str, by: str, *, base_currency: str = "USD",
                     segment: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.metrics.revenue.revenue_breakdown` of ``period`` by the customers column ``by``,
    computed in ``engine`` on the subscriptions known at the period's end (of ``segment``'s customers,
    when given): one row per group, largest MRR first, ``mrr, share, customers, arpa, new, expansion,
    reactivation, contraction, churn, moved_in, moved_out, net_new_mrr``."""
    customers = _groups(engine, by, "breakdowns")
    p = parse_period(period)
    first, last = p.first.ordinal, p.last.ordinal
    rows = _rows(engine, base_currency.strip().upper(), p.end_date, segment)
    group_of = customers.select("customer_id", group=customers[by])
    # every group with a subscription row known then, paying or not (as in memory)
    named = rows.join(group_of, "customer_id")
    groups = sorted(str(g) for g in engine.fetch(named.select("group").distinct())["group"])
    cells = _changes(rows)
    cells = cells.filter(cells.month <= last)
    inside = cells.month >= first
    per = cells.group_by("customer_id").aggregate(
        opening=cells.delta.sum(where=~inside).fill_null(0), mrr=cells.delta.sum(),
        **{kind: cells.delta.sum(where=inside & (cells.kind == code)).fill_null(0) for kind, code in _KINDS.items()})
    per = per.join(group_of, "customer_id")
    sums = engine.fetch(per.group_by("group").aggregate(
        customers=per.count(where=per.mrr > 0),
        **{c: per[c].sum() for c in ("opening", "mrr", *_KINDS)}))
    sums = sums.set_index(sums["group"].astype(str)).drop(columns="group").reindex(groups, fill_value=0)
    money = {c: sums[c].astype("int64").to_numpy() / MICROS for c in ("opening", "mrr", *_KINDS)}
    out = pd.DataFrame({"mrr": money["mrr"]}, index=pd.Index(groups, dtype="str", name=by))
    total = float(out["mrr"].sum())
    out["share"] = [ratio(m, total) for m in out["mrr"]]
    out["customers"] = sums["customers"].astype("int64").to_numpy()
    out["arpa"] = [ratio(m, n) for m, n in zip(out["mrr"], out["customers"])]
    for flow in GROUP_FLOWS:
        out[flow] = money[flow] if flow in money else np.zeros(len(out))
    out["net_new_mrr"] = money["mrr"] - money["opening"]
    return out.sort_values("mrr", ascending=False, kind="stable")
