"""Bookings of the contracts signed in a period (TCV, ACV), computed in the engine.

The definition is :func:`kpilib.metrics.revenue.contract_values`'s: a contract is a subscription row
starting in the period, except a plan change (a row starting on the day another row of the customer
with a different plan ends); a row taking over from a row of the same plan is a renewal. Per contract,
TCV = row MRR x committed months (``term_months``, else 12) + setup fee, ACV = TCV / max(months / 12, 1),
in the base currency at constant rates. Inside the engine: the rows starting in the period (of the
subscriptions known at its end), each row's predecessors found by a self-join on the customer and the
day (each contract keyed by its ``subscription_id``, the table's key), then one row of sums. The row
MRR is the movements' (integer micro-units); TCV and ACV are sums of doubles, equal to the in-memory
sums to about 1e-12.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..metrics.mrr import MICROS
from ..periods import ReportPeriod, parse_period
from .asof import known_subscriptions, require_plain
from .movements import Engine, _row_money

#: What :func:`engine_contracts` returns, in this order (:func:`kpilib.metrics.revenue.contract_values`'s)
BOOKINGS = ("contracts", "new_contracts", "renewals", "plan_changes", "tcv", "acv", "setup_fees", "assumed_terms")


def engine_contracts(engine: Engine, period: ReportPeriod | str, *, base_currency: str = "USD",
                     segment: str | None = None, default_term_months: int = 12) -> pd.Series:
    """:func:`kpilib.metrics.revenue.contract_values` of ``period``, computed in ``engine`` on the
    subscriptions known at the period's end (of ``segment``'s customers, when given): :data:`BOOKINGS`."""
    import ibis

    p = parse_period(period)
    base = base_currency.strip().upper()
    have = set(engine.columns("subscriptions"))
    optional = {c: t for c, t in (("term_months", "float64"), ("setup_fee", "float64")) if c in have}
    s = known_subscriptions(engine, p.end_date, segment, plan="string", subscription_id="string", **optional)
    require_plain(engine, "subscriptions", ("plan",))  # a plan change is a change of plan as the loader reads it
    _, factor, micros = _row_money(engine, s, base)
    fee = s.setup_fee.fill_null(0.0) if "setup_fee" in optional else ibis.literal(0.0)
    start = s.start_date.truncate("D")  # a date stored with a time of day is its day, as the loader reads it
    rows = s.select(
        row=s.subscription_id, customer_id=s.customer_id, start=start, plan=s.plan, micros=micros,
        term=s.term_months if "term_months" in optional else ibis.null("float64"),
        fee=fee * factor if factor is not None else fee,
    )
    after = p.end_date.date() + dt.timedelta(days=1)
    signed = rows.filter((rows.start >= p.first.start_time.date()) & (rows.start < after))
    ended = s.filter(s.end_date.notnull()).select(ended_by=s.customer_id, ended_on=s.end_date.truncate("D"),
                                                   plan_before=s.plan)
    takeover = signed.join(ended, (signed.customer_id == ended.ended_by) & (signed.start == ended.ended_on))
    flags = takeover.group_by("row").aggregate(changed=(takeover.plan != takeover.plan_before).max(),
                                               renewed=(takeover.plan == takeover.plan_before).max())
    signed = signed.left_join(flags, "row")
    changed = signed.changed.fill_null(False)
    contracts = signed.filter(~changed)
    assumed = contracts.term.isnull()
    term = contracts.term.fill_null(float(default_term_months))
    tcv = contracts.micros.cast("float64") / MICROS * term + contracts.fee
    row = engine.fetch(signed.aggregate(plan_changes=signed.count(where=changed))).iloc[0]
    sums = engine.fetch(contracts.aggregate(
        contracts=contracts.count(), renewals=contracts.count(where=contracts.renewed.fill_null(False)),
        tcv=tcv.sum(), acv=(tcv / ibis.greatest(term / 12.0, 1.0)).sum(), setup_fees=contracts.fee.sum(),
        assumed_terms=contracts.count(where=assumed))).iloc[0]
    n = {k: 0.0 if pd.isna(v) else float(v) for k, v in {**row.to_dict(), **sums.to_dict()}.items()}
    return pd.Series({"contracts": n["contracts"], "new_contracts": n["contracts"] - n["renewals"],
                      "renewals": n["renewals"], "plan_changes": n["plan_changes"], "tcv": n["tcv"], "acv": n["acv"],
                      "setup_fees": n["setup_fees"], "assumed_terms": n["assumed_terms"]})
