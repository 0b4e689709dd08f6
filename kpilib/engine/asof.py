"""The as-of rule inside the engine: the subscriptions as they were known at a period's end.

A pack for period P uses only what was known at P's end (:mod:`kpilib.data.asof`). A step that runs in
the engine must see the same rows, so the cut is made there too, from the same rule (:data:`CUTS`):

- rows whose row date (``start_date``) is after the cut are left out;
- a state date after the cut (``end_date``) is emptied: the subscription was still open;
- customers created after the cut are left out, and so are their subscriptions.

A segment, when asked, keeps the subscriptions of that segment's customers, as
:meth:`kpilib.data.dataset.Dataset.filter` does before the model cuts (``None``, ``""`` and ``"all"``
are the whole company; a segment no customer has is an error). The rule is read from
:data:`kpilib.data.asof.CUTS`, so a change to it reaches both paths; it is written for the engine for
the two tables the steps read, subscriptions and customers. A date stored with a time of day is cut
by its day, as the loader reads it.

**Keys and labels as the loader reads them.** The loader trims text and compares it byte for byte; an
engine compares what it stores, with its own collation. Before the first step reads them,
:func:`require_plain` checks in the engine that the ids, the billing intervals, the currencies (and the
labels a step groups or filters by) are plain printable ASCII without blanks around them, and that the
engine tells the ids apart byte for byte: otherwise the step raises :class:`~kpilib.KpiError` rather
than match ``"C1 "`` and ``"C1"`` differently from the pack. :func:`require_naive` likewise refuses
dates stored with a time zone, whose day the loader takes in UTC.
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


#: Ids and labels the engine compares as the loader does: printable ASCII, no blank at either end (anything
#: else, such as a non-breaking space the loader would strip or an accent, is loaded and validated as usual)
PLAIN = r"^[!-~]([ -~]*[!-~])?$"


def _after(column, day: dt.date):
    """True where the date (or a time on that date) falls on a day after ``day``; a missing date never
    does (as in memory). From the next midnight on, so that a time of day never counts."""
    return (column >= day + dt.timedelta(days=1)).fill_null(False)


def require_plain(engine: Engine, table: str, columns: tuple[str, ...], *, distinct_ids: bool = False) -> None:
    """Raise :class:`~kpilib.KpiError` unless every value of ``columns`` of ``table`` in ``engine`` is
    plain printable ASCII without blanks around it (the loader would trim or keep it otherwise than
    the engine compares it); with ``distinct_ids``, also unless the engine tells the first column's
    values apart byte for byte (a collation that ignores case would merge two accounts). Each column
    is checked once per engine."""
    t = engine.table(table, **{c: "string" for c in columns})
    for column in columns:
        if (table, column) in engine.checked:
            continue
        values = t.select(value=t[column]).distinct()
        wrong = values.value.re_search("[^ -~]") | ~values.value.re_search(PLAIN)
        found = engine.fetch(values.aggregate(n=values.count(), wrong=values.count(where=wrong.fill_null(False))))
        n, bad = int(found["n"].iloc[0]), int(found["wrong"].iloc[0])
        if not bad and distinct_ids and column == columns[0]:
            raw = t.select(value=t[column].replace("\\", "\x7f").cast("binary")).distinct()
            bad = int(engine.fetch(raw.aggregate(n=raw.count()))["n"].iloc[0]) != n
        if bad:
            raise KpiError(f"{engine.label}: {table}.{column} holds values with blanks around them, characters "
                           "outside printable ASCII, or that the engine's collation does not tell apart byte for "
                           "byte: the engine would not match them as the loader does, so this step is not computed "
                           "there (load the tables instead: kpi report, kpilib.load_dataset)")
        engine.checked.add((table, column))


def require_naive(engine: Engine, table: str, columns: tuple[str, ...]) -> None:
    """Raise :class:`~kpilib.KpiError` when a date column of ``table`` is stored as a timestamp *with* a
    time zone: the loader takes its day in UTC, the engine in its session's zone, so a time near
    midnight could fall on another day, even another month. One value of each column is read (a
    column holds one type), once per engine."""
    t = engine.table(table)
    for column in columns:
        if (table, column, "naive") in engine.checked:
            continue
        found = engine.fetch(t.select(value=t[column]).filter(t[column].notnull()).limit(1))["value"]
        if not found.empty and getattr(found.iloc[0], "tzinfo", None) is not None:
            raise KpiError(f"{engine.label}: {table}.{column} is stored with a time zone; the engine would take its "
                           "days in its session's zone, the loader in UTC, so this step is not computed there "
                           "(store dates, or load the tables instead: kpi report, kpilib.load_dataset)")
        engine.checked.add((table, column, "naive"))


def segment_of(engine: Engine, segment: str | None) -> str | None:
    """``segment`` as the model reads it: ``None`` for the whole company (``None``, ``""``, ``"all"``);
    a segment no customer of ``engine`` has raises :class:`~kpilib.KpiError` naming those it has."""
    if segment in (None, "", "all"):
        return None
    customers = engine.table("customers")
    if customers is None:
        raise KpiError(f"{engine.label} has no customers table: a segment needs it")
    require_plain(engine, "customers", ("segment",))
    known = engine.fetch(customers.select("segment").distinct())["segment"].dropna().astype(str)
    if segment not in set(known):
        raise KpiError(f"no accounts with segment = {segment!r}; known values: {', '.join(sorted(known))}")
    return segment


def known_subscriptions(engine: Engine, as_of=None, segment: str | None = None, **types: str):
    """The engine's subscriptions as known at the end of day ``as_of`` (``None``: every row as stored),
    of the customers of ``segment`` only when one is given; ``types``: more of its columns to read, with
    their Ibis types. Raises :class:`~kpilib.ContractError` when the engine has no subscriptions,
    :class:`~kpilib.KpiError` when a cut or a segment needs customers and the engine has none."""
    import ibis

    subs = engine.table("subscriptions", **types)
    if subs is None:
        raise ContractError("subscriptions", None, f"required table is missing from {engine.label}")
    require_plain(engine, "subscriptions", ("customer_id", "billing_interval", "currency"), distinct_ids=True)
    require_naive(engine, "subscriptions", ("start_date", "end_date"))
    segment = segment_of(engine, segment)
    if as_of is None and segment is None:
        return subs
    rule = CUTS["subscriptions"]
    customers = engine.table("customers")
    if customers is None:
        raise KpiError(f"{engine.label} has no customers table: the cut at a period's end and a segment "
                       "both need it")
    require_plain(engine, "customers", ("customer_id",), distinct_ids=True)
    require_naive(engine, "customers", ("created_at",))
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
