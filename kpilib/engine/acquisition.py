"""New customers and MRR per acquisition channel, computed in the engine as a pack of the period knows them.

What the acquisition figures read from the customer x month grid (:mod:`kpilib.metrics.acquisition`): the
customers whose first paid month falls in the period (the denominator of CAC, per channel and blended),
the MRR they pay at the period's end (the new ARR of the return per channel), and every customer's MRR
then (the share of MRR from marketing-sourced customers). From the change cells of
:mod:`kpilib.engine.movements`, per customer its cohort and its MRR at the period's last month end;
then those summed and counted per channel. Only channels x three figures leave the engine.
"""

from __future__ import annotations

import pandas as pd

from ..metrics.mrr import MICROS
from ..periods import ReportPeriod, parse_period
from .movements import Engine, _groups
from .period import _cells


def engine_acquisition(engine: Engine, period: ReportPeriod | str, *, base_currency: str = "USD",
                       segment: str | None = None) -> pd.DataFrame:
    """Per acquisition channel (index ``channel``, sorted): ``new_customers`` (first paid month in
    ``period``), ``new_mrr`` (their MRR at its last month end) and ``mrr`` (every customer's MRR then),
    computed in ``engine`` on the subscriptions known at the period's end (of ``segment``'s customers,
    when given). Channels whose customers never paid are not listed."""
    customers = _groups(engine, "acquisition_channel", "new customers")
    p = parse_period(period)
    cells = _cells(engine, p, base_currency, segment)
    per = cells.group_by("customer_id").aggregate(cohort=cells.first_paid.min(), mrr=cells.delta.sum())
    per = per.join(customers.select("customer_id", channel=customers.acquisition_channel), "customer_id")
    new = (per.cohort >= p.first.ordinal) & (per.cohort <= p.last.ordinal)
    sums = engine.fetch(per.group_by("channel").aggregate(new_customers=per.count(where=new),
                                                          new_mrr=per.mrr.sum(where=new), mrr=per.mrr.sum()))
    out = pd.DataFrame({"new_customers": sums["new_customers"].astype("int64").to_numpy(),
                        "new_mrr": sums["new_mrr"].fillna(0).astype("int64").to_numpy() / MICROS,
                        "mrr": sums["mrr"].astype("int64").to_numpy() / MICROS},
                       index=pd.Index(sums["channel"].astype(str), dtype="str", name="channel"))
    return out.sort_index()
