"""Engagement scores and churn by engagement band, computed in the engine that holds the usage.

The definition is :mod:`kpilib.metrics.voice`'s (docs/metrics.md, "Customer voice and engagement"),
step by step, so that the product usage (the largest table: 11M rows at 100 copies of the sample)
never leaves the engine; what comes back is the latest month's scores (one per account) and three
rows of churn by band:

1. usage as known at the end of month ``end``: months up to it, of accounts created by its last day
   (the as-of rule, :mod:`kpilib.data.asof`), of the segment's accounts when one is given; rows
   without an account or a month belong to no account-month;
2. per account-month, each weighted event's counts summed (whole numbers: exact in any order), then
   weighted and added in the order of the events' names, in double precision, as in memory: the
   same sum to the bit;
3. the score is the percentile rank of that sum among the month's accounts x 100, ties sharing their
   average rank: ``(2 x rank + 1 + ties) / (2 x accounts) x 100``, with ``rank`` the number of
   smaller sums, one division of whole numbers, as pandas' ``rank(pct=True)`` computes it;
4. an account-month counts for churn when the account is paying at its month end and the
   ``horizon`` months after it are known by ``end``; it churned unless it kept paying through them.
   Paying spells come from :mod:`kpilib.engine.movements`' change cells: a spell starts where a
   customer's MRR goes from 0 to more and stops where it goes back to 0.

Raw ``product_events`` are aggregated into monthly usage inside the engine first, with the data
layer's own query, when no ``product_usage`` table is there. Constant fx rates only, as the
movements (a dated ``fx_rates`` raises :class:`~kpilib.KpiError`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.dataset import Dataset
from ..errors import KpiError
from ..metrics.voice import BANDS, ENGAGEMENT_HORIZON, ENGAGEMENT_WEIGHTS
from .movements import _EPOCH, Engine, _changes, _factors, _month_code, _rows


def _month_of_text(month):
    """'YYYY-MM' text -> the months-since-1970 code of :mod:`kpilib.engine.movements`."""
    return month.substr(0, 4).cast("int64") * 12 + month.substr(5, 2).cast("int64") - 1 - _EPOCH


def _usage(engine: Engine):
    """``(usage, months)``: the usage's customer_id, event, count, month code and ``stored_month`` (the
    month as stored), and how months are stored (``"text"``, ``"date"``); ``None`` without usage."""
    from ..data.databases import _product_usage_query, _Source

    stored = engine.table("product_usage")
    if stored is not None:
        first = engine.fetch(stored.select("month").filter(stored.month.notnull()).limit(1))["month"]
        months = "date" if not first.empty and not isinstance(first.iloc[0], str) else "text"
        if months == "date":  # months stored as first days of months: read again with a date type
            stored = engine.table("product_usage", month="date")
        month = _month_code(stored.month) if months == "date" else _month_of_text(stored.month)
        return stored.select("customer_id", "event", "count", month=month, stored_month=stored.month), months
    events = engine.table("product_events")
    if events is None:
        return None
    usage = _product_usage_query(events, _Source("product_events"))
    return usage.select("customer_id", "event", "count", month=_month_code(usage.month),
                        stored_month=usage.month), "date"


def _scores(usage, weights: dict[str, float]):
    """Per account-month: the weighted sum of step 2 and the score of step 3."""
    import ibis

    weighted = sorted(e for e, w in weights.items() if w)
    sums = {f"e{i}": usage["count"].cast("float64").sum(where=usage.event == e).fill_null(0.0)
            for i, e in enumerate(weighted)}
    groups = usage.group_by(["customer_id", "month"]).aggregate(**sums) if sums else \
        usage.select("customer_id", "month").distinct()
    total = ibis.literal(0.0, "float64")
    for i, e in enumerate(weighted):
        term = groups[f"e{i}"] * ibis.literal(float(weights[e]), "float64")
        total = term if i == 0 else total + term
    groups = groups.select("customer_id", "month", x=total)
    smaller = ibis.rank().over(group_by=groups.month, order_by=groups.x)
    ties = groups.count().over(group_by=[groups.month, groups.x])
    accounts = groups.count().over(group_by=groups.month)
    score = ((smaller * 2 + 1 + ties).cast("float64") / (accounts * 2).cast("float64")) \
        * ibis.literal(100.0, "float64")
    return groups.select("customer_id", "month", score=score)


def _band(score):
    import ibis

    cases = [(score < ibis.literal(float(hi), "float64"), i) for i, (_, _lo, hi) in enumerate(BANDS)]
    return ibis.cases(*cases, else_=-1)  # scores are above 0: the first band starts there


def _spells(engine: Engine, base_currency: str):
    """Each paying spell of each customer: its first paying month and the month it stopped (NULL: open)."""
    cells = _changes(_rows(engine, base_currency))
    turns = cells.filter(((cells.prev == 0) & (cells.cur > 0)) | ((cells.prev > 0) & (cells.cur == 0)))
    turns = turns.mutate(next=turns.month.lead().over(group_by=turns.customer_id, order_by=turns.month))
    starts = turns.filter(turns.cur > 0)
    return starts.select("customer_id", start=starts.month, stop=starts.next)


def engine_engagement(engine: Engine, end, *, base_currency: str = "USD", segment: str | None = None,
                      horizon: int = ENGAGEMENT_HORIZON, weights: dict[str, float] | None = None
                      ) -> tuple[pd.Period, pd.Series, pd.DataFrame, int] | None:
    """What :attr:`kpilib.KpiModel.engagement_summary` holds, computed in ``engine``.

    ``(latest month, its accounts' scores, churn by band, horizon)`` for the data as known at the end
    of month ``end`` (and of ``segment``'s accounts, a ``customers.segment`` value), or ``None`` when
    the engine has no product usage up to then. The scores are in the order of their account ids;
    the churn frame is :func:`kpilib.metrics.voice.churn_by_engagement`'s. Contract-valid data only
    (``kpi validate`` first: the engine does not check the contract).
    """
    import ibis

    last = pd.Period(end, "M")
    code = last.year * 12 + last.month - 1 - _EPOCH
    found = _usage(engine)
    customers = engine.table("customers")
    if found is None:
        return None
    usage = found[0]
    if customers is None:
        raise KpiError(f"the customers table is missing from {engine.label}")
    known = customers.filter(customers.created_at.isnull()
                             | (customers.created_at.cast("date") <= ibis.literal(last.end_time.date(), "date")))
    if _segment(segment) is not None:
        known = known.filter(known.segment == segment)
    usage = usage.filter(usage.customer_id.notnull() & usage.month.notnull() & (usage.month <= code))
    usage = usage.semi_join(known.select("customer_id"), "customer_id")
    weights = ENGAGEMENT_WEIGHTS if weights is None else weights
    latest = engine.fetch(usage.aggregate(month=usage.month.max()))["month"].iloc[0]
    if pd.isna(latest):
        return None
    latest = int(latest)
    # a month's scores rank its own accounts only: each query scores just the months it needs
    shown = _scores(usage.filter(usage.month == latest), weights)
    shown = engine.fetch(shown.select("customer_id", "score"))
    shown = shown.sort_values("customer_id", kind="stable")["score"].astype("float64").reset_index(drop=True)

    scores = _scores(usage.filter(usage.month + horizon <= code), weights)
    counted = scores.mutate(band=_band(scores.score))
    spells = _spells(engine, base_currency.strip().upper())
    paying = counted.join(spells, [counted.customer_id == spells.customer_id, spells.start <= counted.month,
                                   spells.stop.isnull() | (spells.stop > counted.month)])
    paying = paying.filter(paying.band >= 0)
    stayed = paying.stop.isnull() | (paying.stop > paying.month + horizon)
    by = engine.fetch(paying.group_by("band").aggregate(account_months=paying.count(),
                                                        churned=paying.count(where=~stayed)))
    kind = pd.CategoricalDtype([b[0] for b in BANDS], ordered=True)
    size = np.zeros(len(BANDS), dtype="int64")
    churned = np.zeros(len(BANDS), dtype="int64")
    at = by["band"].to_numpy(dtype=np.int64)
    size[at], churned[at] = by["account_months"].to_numpy(dtype=np.int64), by["churned"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({"account_months": size, "churned": churned},
                       index=pd.CategoricalIndex(kind.categories, dtype=kind, name="band"))
    out["churn_rate"] = out["churned"] / out["account_months"].replace(0, np.nan)
    month = pd.Period(ordinal=latest, freq="M")  # months since 1970-01: a monthly ordinal
    return month, shown, out, horizon


def _segment(segment: str | None) -> str | None:
    """The segment filtered on: ``None``, ``""`` and ``"all"`` mean every account, as for
    :meth:`kpilib.Dataset.filter`."""
    return None if segment in (None, "", "all") else segment


def _trimmed(text):
    """Text the contract reads as it is: present, not empty, no surrounding blanks."""
    return text.notnull() & (text.strip() == text) & (text.length() > 0)


def usage_in_engine(engine: Engine, *, segment: str | None = None, base_currency: str = "USD"
                    ) -> tuple[int, pd.Period | None, pd.Period | None] | None:
    """Whether :func:`engine_engagement` can stand in for loading the product usage: its rows, first
    and last month (of ``segment``'s accounts) when every row passes a reading of the contract at least
    as strict as the loader's, else ``None``.

    ``None`` also when the engine has no usage, holds both ``product_usage`` and raw
    ``product_events`` (the loader says which it read), has dated fx rates, or fails the query (ids
    stored as numbers, a month that is not text or a date...). The caller then loads and validates
    the table as usual, and a real violation gets the loader's error, naming rule and rows; a
    suspicion that the loader accepts (a blank around an id, which it trims) only costs the load.
    Checked: ids and event names present and trimmed, months ``YYYY-MM`` or first days of months,
    counts whole and >= 0, the key (customer, month, event) unique, every account in ``customers``.
    """
    if engine.table("product_usage") is not None and engine.table("product_events") is not None:
        return None
    try:
        _factors(engine, base_currency.strip().upper())  # dated fx rates raise here
        found = _usage(engine)
        customers = engine.table("customers")
        if found is None or customers is None:
            return None
        usage, months = found
        valid = _trimmed(usage.customer_id) & _trimmed(usage.event) & usage["count"].notnull() \
            & (usage["count"] >= 0) & (usage["count"] == usage["count"].floor()) & usage.month.notnull()
        if months == "text":  # exactly YYYY-MM
            valid &= usage.stored_month.re_search(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
        else:  # the first day of a month, at midnight when a timestamp
            valid &= usage.stored_month == usage.stored_month.truncate("M")
        keys = usage.select("customer_id", "month", "event").distinct()
        orphans = usage.anti_join(customers.select("customer_id"), "customer_id")
        checked = engine.fetch(usage.aggregate(rows=usage.count(), bad=usage.count(where=~valid.fill_null(False)),
                                               first=usage.month.min(), last=usage.month.max())).iloc[0]
        distinct = int(engine.fetch(keys.aggregate(n=keys.count()))["n"].iloc[0])
        if int(checked["bad"]) or int(checked["rows"]) != distinct:
            return None
        if int(engine.fetch(orphans.aggregate(n=orphans.count()))["n"].iloc[0]):
            return None
        if _segment(segment) is not None:
            usage = usage.semi_join(customers.filter(customers.segment == segment).select("customer_id"),
                                    "customer_id")
            checked = engine.fetch(usage.aggregate(rows=usage.count(), first=usage.month.min(),
                                                   last=usage.month.max())).iloc[0]
    except Exception:  # noqa: BLE001 - anything the engine cannot read this way is loaded as usual
        return None
    def month(code) -> pd.Period | None:
        return None if pd.isna(code) else pd.Period(ordinal=int(code), freq="M")

    return int(checked["rows"]), month(checked["first"]), month(checked["last"])


def open_for_usage(source: str | None, *, segment: str | None = None, base_currency: str = "USD"
                   ) -> tuple[Engine, tuple[int, pd.Period | None, pd.Period | None]] | None:
    """For ``kpi report``: the engine of a database or Spark ``source`` (a URL, or ``"database"`` for
    the one in ``KPI_DATABASE_URL``) with the usage's rows and months (:func:`usage_in_engine`), when
    the engagement figures can be computed there; the caller closes the engine. ``None`` for a folder,
    a source with a mapping file, a source the engine cannot open (the loader then says why), or usage
    that must be loaded."""
    from ..data.databases import connection_from_env, is_database_url
    from .movements import connect

    if source is None or (source != "database" and not is_database_url(source)):
        return None
    try:
        url, schema, mapping = connection_from_env(None if source == "database" else source, None, None)
        if mapping:
            return None
        engine = connect(url, schema=schema)
    except Exception:  # noqa: BLE001 - the loader opens it again and names what is wrong
        return None
    try:
        edges = usage_in_engine(engine, segment=segment, base_currency=base_currency)
    except BaseException:
        engine.close()
        raise
    if edges is None:
        engine.close()
        return None
    return engine, edges


def _parquet_usage(source: str | None) -> Path | None:
    """A folder source's ``product_usage.parquet`` (none beside it as CSV), else ``None``."""
    if source in (None, "sample", "database") or "://" in str(source):
        return None
    folder = Path(str(source)).expanduser()
    found = folder / "product_usage.parquet"
    return found if found.is_file() and not (folder / "product_usage.csv").exists() else None


def load_for_report(source: str | None, *, base_currency: str = "USD", goals=None, segment: str | None = None
                    ) -> tuple[Dataset, Engine | None]:
    """The dataset of ``kpi report``, and the engine where its product usage stayed (``None``: loaded).

    The usage stays where it is stored when :func:`usage_in_engine` finds it contract-valid there:
    in a database or Spark (checked before the other tables are read), or in a folder's
    ``product_usage.parquet``, which DuckDB reads in place beside the customers and subscriptions
    already loaded and validated. The dataset then lists it in ``in_engine`` (rows and months), and
    the engagement figures come from :func:`engine_engagement`. Otherwise every table is loaded and
    validated as by :func:`kpilib.load_dataset`, whose error names table, column, rule and rows. The
    caller closes the engine."""
    from dataclasses import replace

    from ..data.load import load_dataset
    from .movements import connect_local

    left = ("product_usage",)
    opened = open_for_usage(source, segment=segment, base_currency=base_currency)
    if opened is not None:
        engine, edges = opened
        try:
            dataset = load_dataset(source, base_currency=base_currency, goals=goals, skip=left)
        except BaseException:
            engine.close()
            raise
        return replace(dataset, in_engine={"product_usage": edges}), engine
    usage = _parquet_usage(source)
    if usage is None:
        return load_dataset(source, base_currency=base_currency, goals=goals), None
    dataset = load_dataset(source, base_currency=base_currency, goals=goals, skip=left)
    frames = {name: dataset.tables[name] for name in ("customers", "subscriptions", "fx_rates")
              if name in dataset.tables}
    engine = connect_local(frames, {"product_usage": usage}, str(usage))
    try:
        checked = usage_in_engine(engine, segment=segment, base_currency=base_currency)
    except BaseException:
        engine.close()
        raise
    if checked is None:  # doubtful: the loader reads it, and decides
        engine.close()
        return load_dataset(source, base_currency=base_currency, goals=goals), None
    return replace(dataset, in_engine={"product_usage": checked}), engine
