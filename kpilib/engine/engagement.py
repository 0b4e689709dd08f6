"""The product usage summed where it is stored, so that ``kpi report`` never loads its rows.

The usage is the largest table (11M of the 13.5M rows at 100 copies of the sample) and the one a
company outgrows first. Its only figures are the engagement scores (docs/metrics.md, "Customer voice
and engagement"), whose first step is a sum per account-month; that step runs in the engine, and
its result (one row per account-month: 3.2M at 100 copies) is all that comes back:

- :func:`engine_usage_sums`: per account and month, each weighted event's counts summed (whole
  numbers: exact in any order), then weighted and added in the order of the events' names, in
  double precision, as :func:`kpilib.metrics.voice.engagement_scores` does: the same sums to the bit;
  and the number of usage rows. Raw ``product_events`` are aggregated into monthly usage inside the
  engine first, with the data layer's own query, when there is no ``product_usage``.
- The rest is the in-memory path's own code, on validated tables: :class:`~kpilib.Dataset` keeps the
  sums (``usage_sums``), cuts them at a period's end and filters them to a segment's accounts as it
  does the usage (:mod:`kpilib.data.asof`, :meth:`~kpilib.Dataset.filter`), and the model ranks them
  (:func:`kpilib.metrics.voice.scores_from_sums`) and counts churn by band on its customer x month MRR.
- :func:`checked_usage_sums` first checks the usage there, at least as strictly as the loader, and
  :func:`load_for_report` that its accounts are the loaded customers'; if anything is doubtful, it
  loads and validates every table as before, so a violation gets the loader's error naming table,
  column, rule and rows. Nothing but the usage is read from the engine: every other figure comes from
  the tables as loaded (trimmed ids, dates in UTC), whatever the engine's own types and time zone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.contract import COUNT_MAX, TABLES
from ..data.dataset import Dataset, is_member
from ..metrics.voice import ENGAGEMENT_WEIGHTS
from .asof import PLAIN
from .movements import _EPOCH, Engine, _month_code

_MONTH = r"^[12][0-9]{3}-(0[1-9]|1[0-2])$"
_COLUMNS = [c.name for c in TABLES["product_usage"].columns]

#: A folder's ``product_usage.parquet`` is summed in place from this many rows; a smaller one is loaded.
#: pandas loads and scores usage faster than DuckDB checks and sums it in place (at 100 copies of the
#: sample, 11M rows: the pack 84 s loaded against 104 s in place, docs/performance.md), and the runner's
#: peak is then the model's, not the load's (2.5 GB either way). The load's own peak grows about 0.13 GB
#: per million usage rows: from 15M rows it would pass the model's and take the pack's process tree
#: over 4 GB, and in place it stays about 1.3 GB whatever the rows.
FOLDER_IN_PLACE_ROWS = 15_000_000


def _month_of_text(month):
    """'YYYY-MM' text -> the months-since-1970 code of :mod:`kpilib.engine.movements`."""
    return month.substr(0, 4).cast("int64") * 12 + month.substr(5, 2).cast("int64") - 1 - _EPOCH


def _usage(engine: Engine):
    """``(usage, months)``: the usage's customer_id, event, count, month code and ``stored_month`` (the
    month as stored), and how months are stored (``"text"``, ``"date"``, or ``None`` for a type the
    check does not take: a timestamp with a time zone); ``None`` without usage."""
    from ..data.databases import _product_usage_query, _Source

    stored = engine.table("product_usage")
    if stored is not None:
        first = engine.fetch(stored.select("month").filter(stored.month.notnull()).limit(1))["month"]
        value = first.iloc[0] if not first.empty else None
        months = "text" if value is None or isinstance(value, str) else \
            None if getattr(value, "tzinfo", None) is not None else "date"
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


def _weighted(weights: dict[str, float]) -> list[str]:
    """The weighted events in the order their terms are added, as in memory: by name."""
    return sorted(e for e, w in weights.items() if w)


def engine_usage_sums(engine: Engine, weights: dict[str, float] | None = None) -> pd.DataFrame | None:
    """``customer_id, month, x, rows`` per account-month of the engine's usage (every month), in
    (account, month) order: ``x`` the weighted sum :func:`kpilib.metrics.voice.scores_from_sums` ranks,
    ``rows`` the usage rows summed; ``None`` when the engine has no usage. Contract-valid usage only:
    :func:`checked_usage_sums` checks it first."""
    found = _usage(engine)
    return None if found is None else _sums(engine, found[0], weights)


def _sums(engine: Engine, usage, weights: dict[str, float] | None = None,
          events: list[str] | None = None) -> pd.DataFrame | None:
    """:func:`engine_usage_sums` of ``usage``. With ``events`` (every distinct event name), each
    account-month also counts its rows of each event: the key (customer, month, event) is unique when
    no count passes 1 and the counts add up to the rows, checked in the same pass as the sums (an exact
    DISTINCT over the three columns took longer than the sums themselves); ``None`` when it is not."""
    import ibis

    weights = ENGAGEMENT_WEIGHTS if weights is None else weights
    weighted = _weighted(weights)
    # counts as doubles, whatever the stored type: an integer or decimal column times a weight is exact
    # decimal arithmetic in DuckDB and PostgreSQL (35 x 0.01 = 0.35, where numpy's doubles give
    # 0.35000000000000003); through int64 (whole and <= COUNT_MAX, checked) the cast is never elided
    sums = {f"e{i}": usage["count"].cast("int64").cast("float64").sum(where=usage.event == e).fill_null(0.0)
            for i, e in enumerate(weighted)}
    each = {f"k{i}": usage.count(where=usage.event == e) for i, e in enumerate(events or [])}
    groups = usage.group_by(["customer_id", "month"]).aggregate(rows=usage.count(), **sums, **each)
    total = ibis.literal(0.0, "float64")
    for i, e in enumerate(weighted):
        term = groups[f"e{i}"] * ibis.literal(float(weights[e]), "float64")
        total = term if i == 0 else total + term
    counted = [groups[k] for k in each]
    key = {} if not counted else {  # each row counted once, under its own event (a literal the engine
        # compared otherwise than Python would show here), and no event twice in an account-month
        "most": counted[0] if len(counted) == 1 else ibis.greatest(*counted),
        "spare": groups.rows - sum(counted[1:], counted[0])}
    out = engine.fetch(groups.select("customer_id", "month", "rows", x=total, **key))
    if key and len(out) and (int(out["most"].max()) > 1 or out["spare"].astype("int64").any()):
        return None
    # in (account, month) order as Python sorts them (an engine's collation may differ): by codes
    accounts, ids = pd.factorize(out["customer_id"].astype("str"), sort=True)
    months = out["month"].to_numpy(dtype="int64")
    order = np.lexsort((months, accounts))
    return pd.DataFrame({"customer_id": ids.take(accounts[order]),
                         "month": pd.PeriodIndex.from_ordinals(months[order], freq="M"),
                         "x": out["x"].to_numpy(dtype="float64")[order],
                         "rows": out["rows"].to_numpy(dtype="int64")[order]})


#: Up to this many distinct event names, the key's uniqueness is counted per event beside the sums
#: (:func:`_sums`); beyond, by an exact DISTINCT over the key first.
_EVENTS_COUNTED = 64


def checked_usage_sums(engine: Engine) -> pd.DataFrame | None:
    """:func:`engine_usage_sums` when every usage row passes, in the engine, a reading of the contract
    at least as strict as the loader's; ``None`` otherwise. ``None`` also when the engine has no
    usage, holds both ``product_usage`` and raw ``product_events`` (the loader says which it read),
    stores columns outside the contract (the loader notes them), months of another type than text or
    dates without a time zone, or fails a query (ids stored as numbers...). The caller then loads and
    validates the table as usual: a real violation gets the loader's error, and a suspicion the loader
    accepts only costs the load.
    Checked: ids and event names plain printable text without blanks around them, months ``YYYY-MM``
    or first days of months at midnight, counts whole, >= 0 and <= the contract's maximum, the key
    (customer, month, event) unique, ids and events compared byte for byte (:func:`_compares_bytes`).
    That every account is a customer is checked by the caller,
    against the customers as loaded (:func:`load_for_report`)."""
    stored = engine.table("product_usage") is not None
    if stored and engine.table("product_events") is not None:
        return None
    try:
        if stored and sorted(engine.columns("product_usage")) != sorted(_COLUMNS):
            return None
        found = _usage(engine)
        if found is None or found[1] is None:
            return None
        usage, months = found
        count = usage["count"]
        valid = count.notnull() & (count >= 0) & (count <= COUNT_MAX) & (count == count.floor()) & usage.month.notnull()
        checked = engine.fetch(usage.aggregate(rows=usage.count(), bad=usage.count(where=~valid.fill_null(False))))
        if int(checked["bad"].iloc[0]):
            return None
        # the text rules on each distinct value (200k ids, a few events and months), not on every row
        distinct: dict[str, int] = {}
        for column, rule in (("customer_id", PLAIN), ("event", PLAIN), ("stored_month", _MONTH)):
            values = usage.select(value=usage[column]).distinct()
            if column == "stored_month" and months != "text":  # the first day of a month, at midnight
                wrong = values.value != values.value.truncate("M")
            else:  # nothing outside printable ASCII first: Java's and ICU's "$" also match before a final
                # line break, which the loader strips
                wrong = values.value.re_search("[^ -~]") | ~values.value.re_search(rule)
            counted = engine.fetch(values.aggregate(n=values.count(), wrong=values.count(where=wrong.fill_null(True))))
            if int(counted["wrong"].iloc[0]):
                return None
            distinct[column] = int(counted["n"].iloc[0])
        events = _compares_bytes(engine, usage, distinct)
        if events is None:
            return None
        if len(events) > _EVENTS_COUNTED:
            keys = usage.select("customer_id", "month", "event").distinct()
            if int(checked["rows"].iloc[0]) != int(engine.fetch(keys.aggregate(n=keys.count()))["n"].iloc[0]):
                return None
            events = []
        return _sums(engine, usage, events=events)
    except Exception:  # noqa: BLE001 - anything the engine cannot read this way is loaded as usual
        return None


def _compares_bytes(engine: Engine, usage, distinct: dict[str, int]) -> list[str] | None:
    """The distinct event names when the engine tells ids and event names apart as Python does, byte
    for byte, else ``None``: a column collation that ignores case or accents (``COLLATE NOCASE``,
    MySQL's defaults) would group two accounts' usage as one and count ``LOGIN`` as the weighted
    ``login``, where the loader keeps them apart. Ids and events: as many distinct byte strings as the
    engine's ``distinct`` values (a backslash first made DEL, which the text rule refuses, so that no
    engine reads it as an escape). Events (a handful):
    the engine's own ``==`` against each weighted name is Python's, whichever spelling its DISTINCT
    returned."""
    for column in ("customer_id", "event"):
        raw = usage.select(value=usage[column].replace("\\", "\x7f").cast("binary")).distinct()
        if int(engine.fetch(raw.aggregate(n=raw.count()))["n"].iloc[0]) != distinct[column]:
            return None
    weighted = _weighted(ENGAGEMENT_WEIGHTS)
    events = usage.select(value=usage.event).distinct()
    found = engine.fetch(events.select("value", **{f"m{i}": events.value == e for i, e in enumerate(weighted)})
                         .limit(10_001))
    if len(found) > 10_000:  # not a handful of event names: loaded and checked as usual
        return None
    same = all(bool(hit) == (value == e) for i, e in enumerate(weighted)
               for value, hit in zip(found["value"], found[f"m{i}"], strict=True))
    return [str(v) for v in found["value"]] if same else None


def _engine_of(source: str | None) -> Engine | None:
    """The engine of a database or Spark ``source`` (a URL, or ``"database"`` for the one in
    ``KPI_DATABASE_URL``); ``None`` for a folder, a source with a mapping file, or one the engine cannot
    open (the loader then says why)."""
    if source is None or (source != "database" and "://" not in str(source)):
        return None  # the sample or a folder: not paying for SQLAlchemy's import (0.3 s) to say so
    from ..data.databases import connection_from_env, is_database_url
    from .movements import connect

    if source != "database" and not is_database_url(source):
        return None
    try:
        url, schema, mapping = connection_from_env(None if source == "database" else source, None, None)
        return None if mapping else connect(url, schema=schema)
    except Exception:  # noqa: BLE001 - the loader opens it again and names what is wrong
        return None


def _parquet_engine(source: str | None) -> Engine | None:
    """DuckDB over a folder's ``product_usage.parquet`` (none beside it as CSV) of at least
    :data:`FOLDER_IN_PLACE_ROWS` rows whose columns are the contract's, with the loader's Parquet types
    (text ids, events and months; integer or float counts); ``None`` otherwise, or when the file cannot
    be read (the loader then says why)."""
    if source in (None, "sample", "database") or "://" in str(source):
        return None
    folder = Path(str(source)).expanduser()
    found = folder / "product_usage.parquet"
    if not found.is_file() or (folder / "product_usage.csv").exists():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .movements import connect_local

    try:
        schema = pq.read_schema(found)
        if pq.read_metadata(found).num_rows < FOLDER_IN_PLACE_ROWS:
            return None
    except Exception:  # noqa: BLE001 - the loader reads it and names what is wrong
        return None
    text = (pa.string(), pa.large_string())
    if sorted(schema.names) != sorted(_COLUMNS) or any(schema.field(c).type not in text for c in
                                                       ("customer_id", "event", "month")):
        return None
    kind = schema.field("count").type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    try:
        return connect_local({"product_usage": found}, str(found))
    except Exception:  # noqa: BLE001
        return None


def load_for_report(source: str | None, *, base_currency: str = "USD", goals=None) -> Dataset:
    """The dataset of ``kpi report``: as :func:`kpilib.load_dataset` loads it, but with the product
    usage left where it is stored when :func:`checked_usage_sums` finds it contract-valid there (a
    database, Spark, or a folder's ``product_usage.parquet`` of :data:`FOLDER_IN_PLACE_ROWS` rows or
    more, which DuckDB reads in place): only its
    sums per account-month are read (the dataset's ``usage_sums``), the
    other tables checked against them as the loader would. Otherwise every table is loaded and
    validated as usual."""
    from dataclasses import replace

    from ..data.load import load_dataset

    engine = _engine_of(source) or _parquet_engine(source)
    if engine is None:
        return load_dataset(source, base_currency=base_currency, goals=goals)
    try:
        sums = checked_usage_sums(engine)
    finally:
        engine.close()
    if sums is None:
        return load_dataset(source, base_currency=base_currency, goals=goals)
    dataset = load_dataset(source, base_currency=base_currency, goals=goals, skip=("product_usage",))
    unknown = ~is_member(sums["customer_id"], dataset.customers["customer_id"])
    if unknown.any():  # an account missing from customers (the loader's foreign-key rule names it)
        return load_dataset(source, base_currency=base_currency, goals=goals)
    return replace(dataset, usage_sums=sums)
