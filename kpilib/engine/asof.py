"""The as-of rule inside the engine: the subscriptions as they were known at a period's end.

A pack for period P uses only what was known at P's end (:mod:`kpilib.data.asof`). A step that runs in
the engine must see the same rows, so the cut is made there too, from the same rule (:data:`CUTS`):

- rows whose row date (``start_date``) is after the cut are left out;
- a state date after the cut (``end_date``) is emptied: the subscription was still open;
- customers created after the cut are left out, and so are their subscriptions.

A segment, when asked, keeps the subscriptions of that segment's customers, as
:meth:`kpilib.data.dataset.Dataset.filter` does before the model cuts. The rule is read from
:data:`kpilib.data.asof.CUTS`, so a change to it reaches both paths; only date-typed cuts are
written for the engine (the subscription and customer tables), and asking for another table says so.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from ..data.asof import CUTS
from ..errors import ContractError, KpiError

if TYPE_CHECKING:
    from .movements import Engine


def _day(end) -> dt.date:
    return pd.Timestamp(end).normalize().date()


def _after(column, day: dt.date):
    """True where the date is after ``day``; a missing date never is (as in memory)."""
    return (column.cast("date") > day).fill_null(False)


def known_subscriptions(engine: Engine, as_of=None, segment: str | None = None, **types: str):
    """The engine's subscriptions as known at the end of day ``as_of`` (``None``: every row as stored),
    of the customers of ``segment`` only when one is given; ``types``: more of its columns to read, with
    their Ibis types. Raises :class:`~kpilib.ContractError` when the engine has no subscriptions,
    :class:`~kpilib.KpiError` when a cut or a segment needs customers and the engine has none."""
    import ibis

    subs = engine.table("subscriptions", **types)
    if subs is None:
        raise ContractError("subscriptions", None, f"required table is missing from {engine.label}")
    if as_of is None and segment is None:
        return subs
    rule = CUTS["subscriptions"]
    customers = engine.table("customers")
    if customers is None:
        raise KpiError(f"{engine.label} has no customers table: the cut at a period's end and a segment "
                       "both need it")
    if as_of is not None:
        day = _day(as_of)
        subs = subs.filter(~_after(subs[rule.row_date], day))
        for column in rule.state_dates:
            late = _after(subs[column], day)
            subs = subs.mutate(**{column: ibis.cases((late, ibis.null(subs[column].type())), else_=subs[column])})
        customers = customers.filter(~_after(customers[CUTS["customers"].row_date], day))
    if segment is not None:
        customers = customers.filter(customers.segment == segment)
    return subs.semi_join(customers.select("customer_id"), "customer_id")
