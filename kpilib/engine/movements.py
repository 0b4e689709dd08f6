"""MRR movements and cohort retention as Ibis expressions, run in the engine that holds the subscriptions.

The definition is :mod:`kpilib.metrics.mrr`'s, step by step, with the same integer micro-units:

1. each row's month codes (months since 1970-01: its first active month and its first inactive
   one, open rows never stop) and its MRR in micro-units, ``round(amount / months(interval) x fx
   factor x 1e6)``; the fx factors (``rate[currency] / rate[base]``) are computed here from the
   small ``fx_rates`` table, exactly as in memory, and sent to the engine as literals;
2. every paying row adds its micro-units at its first month and removes them at its stop month:
   summed per (customer, month), the non-zero sums are the cells where a customer's MRR changed;
3. a running sum per customer over those cells gives the MRR after each change (``cur``) and
   before it (``prev``); the customer's first paid month is the earliest start of a paying row;
4. each cell is classified (new, reactivation, churn, expansion, contraction) and summed per
   month and kind: that aggregate, months x 5, is all that leaves the engine, with the opening
   MRR and customers before the window.

The frame is then assembled by :func:`kpilib.metrics.mrr.movement_frame`, the in-memory path's own
code. :func:`engine_cohorts` sums the same cells per cohort (first paid month) and age instead.
One known difference: a row's micro-units are rounded half away from zero in DuckDB and Spark (half
to even in memory, and in PostgreSQL's ``round`` of a double), so a row whose MRR falls exactly on
half a micro-unit can differ by one micro-unit (1e-6 of the currency).

Dated fx rates (a ``month`` column in ``fx_rates``) and breakdowns (``by``) are not pushed down
yet: :func:`engine_movements` raises :class:`~kpilib.KpiError` for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import KpiError
from ..metrics.cohorts import retention_frame
from ..metrics.mrr import (
    COUNT_COLUMNS,
    MICROS,
    MONTHS_PER_INTERVAL,
    MOVEMENT_COLUMNS,
    MonthLike,
    constant_factors,
    movement_frame,
    window,
)
from .asof import known_subscriptions, require_plain

_EPOCH = 1970 * 12
_OPEN = np.iinfo(np.int64).max // 4  # the in-memory path's "no end date"
_NEW, _EXPANSION, _REACTIVATION, _CONTRACTION, _CHURN = range(5)
#: The customers columns the steps group by (a customer belongs to one group)
_GROUPS = ("segment", "region", "acquisition_channel")


#: The columns the steps read, with their Ibis types (docs/data-contract.md)
_SCHEMAS = {
    "subscriptions": {"customer_id": "string", "start_date": "date", "end_date": "date",
                      "amount": "float64", "billing_interval": "string", "currency": "string"},
    "fx_rates": {"currency": "string", "rate_to_base": "float64"},
    "customers": {"customer_id": "string", "created_at": "date", "segment": "string", "region": "string",
                  "acquisition_channel": "string"},
    "product_usage": {"customer_id": "string", "month": "string", "event": "string", "count": "float64"},
    "product_events": {"customer_id": "string", "timestamp": "timestamp", "event": "string"},
}
@dataclass
class Engine:
    """A database or Spark holding the contract tables under their contract names.

    The steps are Ibis expressions over unbound tables, compiled to the engine's SQL dialect
    (``ibis.to_sql``) and run by the data layer's backend on the kit's own connection
    (:class:`kpilib.data.databases.SqlBackend`, :class:`kpilib.data.spark.SparkBackend`, the ones
    the database reader runs its queries on): one expression, any engine Ibis compiles for, and
    no second driver.
    """

    label: str
    backend: Any  # columns(table), fetch(expr)
    _present: set[str] = field(default_factory=set)
    schema: str | None = None
    _release: Callable[[], None] = lambda: None
    #: what :mod:`kpilib.engine.asof` has checked in this engine: (table, column) found plain
    #: (``require_plain``), (table, column, "naive") found without a time zone (``require_naive``)
    checked: set[tuple[str, ...]] = field(default_factory=set)

    def table(self, name: str, **types: str):
        """The Ibis table of contract table ``name`` (with ``types`` for columns whose stored type differs
        from the kit's usual one), or ``None`` when the engine has none."""
        if name not in self._present:
            return None
        import ibis

        return ibis.table(_SCHEMAS[name] | types, name=name, database=self.schema)

    def columns(self, name: str) -> list[str]:
        return self.backend.columns(name)

    def fetch(self, expr) -> pd.DataFrame:
        """Run an expression in the engine and fetch its (small) result."""
        return self.backend.fetch(expr)

    def close(self) -> None:
        """Let go of the connection (a Spark session only when :func:`connect` started it)."""
        self._release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:  # ``with connect(url) as engine:`` closes it after the block
        self.close()


def connect(url, *, schema: str | None = None) -> Engine:
    """An :class:`Engine` for ``url``, its tables in ``schema`` (default: the connection's).

    - a SQLAlchemy URL: ``duckdb:///file.duckdb`` (opened read-only),
      ``postgresql+psycopg://user:password@host:5432/db``, any dialect Ibis compiles for;
    - a ``spark://`` URL (docs/databases.md: ``spark://local[2]?parquet=/folder``,
      ``spark://host:7077?database=analytics``) or a ``pyspark.sql.SparkSession``: the tables of
      the session's catalog, ``schema`` being the Spark database (temporary views when ``None``).
    """
    from ..data.spark import open_spark

    if isinstance(url, str) and not url.startswith("spark://"):
        return _sql_engine(url, schema)
    opened = open_spark(url, schema)
    backend = opened.backend
    return Engine(opened.label, backend, backend.tables() & set(_SCHEMAS), backend.schema, opened.close)


@dataclass
class _InProcess:
    """DuckDB in this process over Parquet files: the backend of :func:`connect_local`."""

    con: Any  # duckdb.DuckDBPyConnection

    def columns(self, table: str) -> list[str]:
        return list(self.con.table(table).columns)

    def fetch(self, query) -> pd.DataFrame:
        import ibis

        return self.con.sql(str(ibis.to_sql(query, dialect="duckdb"))).to_arrow_table().to_pandas()


#: What DuckDB may hold in this process (:func:`connect_local`) before it spills to a temporary folder:
#: checking that 11M usage keys are unique (100 copies of the sample) took 1.24 GB without a limit,
#: 0.37 GB and 0.3 s more with 300 MB
LOCAL_MEMORY = "512MB"


def connect_local(files: dict[str, Any], label: str) -> Engine:
    """An :class:`Engine` in this process (DuckDB, in memory, at most :data:`LOCAL_MEMORY`, spilling to a
    temporary folder of its own) over ``files`` (a Parquet file, by table name), each read where it is,
    never loaded whole."""
    import shutil
    import tempfile

    import duckdb

    from ..data.databases import _quiet_duckdb

    spill = tempfile.mkdtemp(prefix="kpilib-duckdb-")
    con = None

    def release() -> None:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)

    try:
        con = duckdb.connect(config={"memory_limit": LOCAL_MEMORY, "temp_directory": spill})
        _quiet_duckdb(con, None)  # no progress bar in the terminal of kpi report, nor in a notebook
        for name, path in files.items():
            con.read_parquet(str(path)).create_view(name)
    except BaseException:
        release()
        raise

    return Engine(label, _InProcess(con), set(files), None, release)


def _sql_engine(url: str, schema: str | None) -> Engine:
    import sqlalchemy as sa

    from ..data.databases import SqlBackend, _database_errors, _engine, ibis_dialect, mask_url

    engine = _engine(url, read_only=True)
    label = mask_url(url)
    try:
        with _database_errors(engine.url, "reading"):
            conn = engine.connect()
            dialect = ibis_dialect(conn.dialect.name, label)
            inspector = sa.inspect(conn)
            listed = schema if schema is not None else inspector.default_schema_name
            # views too, as the reader lists them (a usage view beside raw events is the usage it reads)
            present = (set(inspector.get_table_names(schema=listed))
                       | set(inspector.get_view_names(schema=listed))) & set(_SCHEMAS)
    except BaseException:
        engine.dispose()
        raise

    def release() -> None:
        conn.close()
        engine.dispose()

    return Engine(label, SqlBackend(conn, schema, dialect), present, schema, release)


def _groups(engine: Engine, by: str, what: str):
    """The engine's customers table, to group ``what`` by its column ``by`` (one of :data:`_GROUPS`, its
    labels plain: :func:`~kpilib.engine.asof.require_plain`); :class:`~kpilib.KpiError` otherwise."""
    if by not in _GROUPS:
        raise KpiError(f"{what} are computed in the engine by {', '.join(_GROUPS)} only, not {by!r}")
    customers = engine.table("customers")
    if customers is None:
        raise KpiError(f"{engine.label} has no customers table: {what} by {by} need it")
    require_plain(engine, "customers", ("customer_id", by), distinct_ids=True)
    return customers


def _month_code(date_column):
    return date_column.year() * 12 + date_column.month() - 1 - _EPOCH


def _factors(engine: Engine, base_currency: str) -> dict[str, float] | None:
    """Currency -> base-currency units per unit, as the in-memory path computes them."""
    fx = engine.table("fx_rates")
    if fx is None:
        return None
    if "month" in engine.columns("fx_rates"):
        raise KpiError("dated fx_rates (a month column) are not computed in the engine yet: "
                       "use kpilib.mrr_movements on the loaded dataset")
    factors = constant_factors(engine.fetch(fx.select("currency", "rate_to_base")), base_currency)
    return {str(c): float(f) for c, f in factors.items()}


def _rows(engine: Engine, base_currency: str, as_of=None, segment: str | None = None):
    """Per subscription row: customer, first and stop month codes, MRR in micro-units, months per billing
    period and whether the amount is positive; the rows known at the end of day ``as_of`` of the
    customers of ``segment`` (:func:`known_subscriptions`)."""
    import ibis

    s = known_subscriptions(engine, as_of, segment)
    months, _, micros = _row_money(engine, s, base_currency)
    return s.select(
        customer_id=s.customer_id,
        first=_month_code(s.start_date.cast("date")),
        stop=_month_code(s.end_date.cast("date")).fill_null(ibis.literal(_OPEN, "int64")),
        micros=micros,
        interval_months=months.cast("int64"),
        paid=s.amount > 0,
    )


def _row_money(engine: Engine, s, base_currency: str):
    """Of each row of the subscriptions ``s``: its months per billing period, its base-currency units per
    unit of its currency (``None`` without fx_rates: the amounts are in the base currency) and its MRR
    in micro-units, ``round(amount / months x factor x 1e6)`` (the module's step 1): one expression of a
    row's MRR for every step."""
    import ibis

    months = s.billing_interval.cases(*((k, float(v)) for k, v in MONTHS_PER_INTERVAL.items()))
    mrr = s.amount.cast("float64") / months
    factors = _factors(engine, base_currency)
    factor = None if factors is None else s.currency.cases(*factors.items(), else_=ibis.null("float64"))
    if factor is not None:
        mrr = mrr * factor
    return months, factor, (mrr * MICROS).round(0).cast("int64")


def _bounds(engine: Engine, rows) -> dict[str, Any]:
    paying = (rows.micros > 0) & (rows.stop > rows.first)
    row = engine.fetch(rows.aggregate(
        n=rows.count(), first_paying=rows.first.min(where=paying), first_any=rows.first.min(),
        last_start=rows.first.max(), last_end=rows.stop.max(where=rows.stop != _OPEN),
    )).iloc[0]
    return {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}


def _changes(rows):
    """The (customer, month) cells where MRR changed, with the MRR before and after and the kind."""
    import ibis

    live = rows.filter((rows.micros != 0) & (rows.stop > rows.first))
    starts = live.select("customer_id", month=live.first, delta=live.micros)
    stops = live.filter(live.stop != _OPEN)
    stops = stops.select("customer_id", month=stops.stop, delta=-stops.micros)
    events = starts.union(stops, distinct=False)
    cells = events.group_by(["customer_id", "month"]).aggregate(delta=events.delta.sum())
    cells = cells.filter(cells.delta != 0)
    cells = cells.mutate(cur=cells.delta.cumsum(group_by="customer_id", order_by="month"))
    cells = cells.mutate(prev=cells.cur - cells.delta)
    paying = rows.filter((rows.micros > 0) & (rows.stop > rows.first))
    first_paid = paying.group_by("customer_id").aggregate(first_paid=paying.first.min())
    cells = cells.left_join(first_paid, "customer_id").select(
        "customer_id", "month", "delta", "cur", "prev", "first_paid")
    kind = ibis.cases(
        (((cells.prev == 0) & (cells.first_paid == cells.month)).fill_null(False), _NEW),
        (cells.prev == 0, _REACTIVATION),
        (cells.cur == 0, _CHURN),
        (cells.delta > 0, _EXPANSION),
        else_=_CONTRACTION,
    )
    return cells.mutate(kind=kind)


def engine_movements(engine: Engine, start: MonthLike = None, end: MonthLike = None, *,
                     base_currency: str = "USD", by: str | None = None, as_of=None,
                     segment: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.mrr_movements` and :func:`kpilib.movement_counts`, computed in ``engine``.

    Same parameters, window rule and result as the in-memory functions (one row per month, every
    column of both), on contract-valid data (``kpi validate`` first: the engine does not check the
    contract). Only the month x kind sums and the opening balance are fetched. ``as_of`` (a date, such
    as a period's ``end_date``) and ``segment``: the subscriptions as a pack of that period (and
    segment) knows them, cut inside the engine (:mod:`kpilib.engine.asof`).
    """
    if by is not None:
        raise KpiError("breakdowns (by=...) are not computed in the engine yet: use kpilib.mrr_movements")
    rows = _rows(engine, base_currency.strip().upper(), as_of, segment)
    bounds = _bounds(engine, rows)
    span = window(start, end, rows=bounds.pop("n"), **bounds)
    lo, hi = span if span is not None else (0, -1)
    n = hi - lo + 1
    money = np.zeros((max(n, 0), 5), dtype=np.int64)
    counts = np.zeros((max(n, 0), 5), dtype=np.int64)
    opening_mrr = opening_n = 0
    if n > 0:
        cells = _changes(rows)
        inside = cells.filter((cells.month >= lo) & (cells.month <= hi))
        sums = engine.fetch(inside.group_by(["month", "kind"])
                            .aggregate(money=inside.delta.sum(), n=inside.count()))
        at = (sums["month"].to_numpy(dtype=np.int64) - lo, sums["kind"].to_numpy(dtype=np.int64))
        money[at] = sums["money"].to_numpy(dtype=np.int64)
        counts[at] = sums["n"].to_numpy(dtype=np.int64)
        before = cells.filter(cells.month < lo)
        balance = before.group_by("customer_id").aggregate(mrr=before.delta.sum())
        opening = engine.fetch(balance.aggregate(mrr=balance.mrr.sum(), n=balance.count(where=balance.mrr > 0)))
        opening_mrr = int(opening["mrr"].fillna(0).iloc[0])
        opening_n = int(opening["n"].fillna(0).iloc[0])
    frame = movement_frame(money, counts, opening_mrr, opening_n, lo, hi)
    return frame[MOVEMENT_COLUMNS[:-1] + COUNT_COLUMNS]


def engine_cohorts(engine: Engine, end: MonthLike = None, *, kind: str = "logo", base_currency: str = "USD",
                   max_age: int | None = None, as_of=None, segment: str | None = None,
                   by: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.logo_retention` (``kind="logo"``) or :func:`kpilib.revenue_retention`
    (``"revenue"``) of :func:`kpilib.customer_mrr` up to ``end``, computed in ``engine``.

    The cohort of a customer is its first paid month. Every change cell of step 3 (see the module)
    adds its MRR change to its cohort at its age (months since the cohort month), and +1 or -1
    paying customer when the customer starts or stops paying; the engine returns those sums per
    cohort and age (cohorts x ages, nothing per customer), and a running sum over the ages gives
    each cohort's paying customers and MRR at every age. Ages beyond ``end`` are NaN, as in memory.
    ``as_of`` and ``segment`` cut the subscriptions as :func:`engine_movements` does. ``by``: a customers
    column (segment, region, acquisition_channel): one matrix per group, indexed by (group, cohort), as
    in memory with ``by`` the customers' column.
    """
    import ibis

    if kind not in ("logo", "revenue"):
        raise KpiError(f"kind must be 'logo' or 'revenue', not {kind!r}")
    rows = _rows(engine, base_currency.strip().upper(), as_of, segment)
    bounds = _bounds(engine, rows)
    span = window(None, end, rows=bounds.pop("n"), **bounds)
    cells = _changes(rows)
    hi = span[1] if span is not None else -1
    cells = cells.filter(cells.month <= hi)
    # +1 when the customer starts paying, -1 when it stops (a CASE: PostgreSQL casts no boolean to BIGINT)
    step = ibis.cases(((cells.prev == 0) & (cells.cur > 0), 1), ((cells.prev > 0) & (cells.cur == 0), -1), else_=0)
    cells = cells.mutate(age=cells.month - cells.first_paid, step=step)
    keys = ["first_paid", "age"]
    if by is not None:
        customers = _groups(engine, by, "cohorts")
        cells = cells.join(customers.select("customer_id", group=customers[by]), "customer_id")
        keys.insert(0, "group")
    sums = engine.fetch(cells.group_by(keys).aggregate(money=cells.delta.sum(), paying=cells.step.sum()))
    if sums.empty:
        out = pd.DataFrame(index=pd.PeriodIndex([], freq="M", name="cohort"), columns=pd.RangeIndex(0, name="age"))
        out.insert(0, "customers", pd.Series(dtype="int64"))
        return out
    # one row per cohort (per group and cohort with ``by``), in sorted order
    rows_of = [sums["group"].astype(str), sums["first_paid"]] if by is not None else [sums["first_paid"]]
    row, pairs = pd.MultiIndex.from_arrays(rows_of).factorize(sort=True)
    codes = pairs.get_level_values(-1).to_numpy(dtype=np.int64)  # each row's cohort
    ages = hi - codes.min() + 1
    at = (row, sums["age"].to_numpy(dtype=np.int64))
    money = np.zeros((len(pairs), ages), dtype=np.int64)
    paying = np.zeros((len(pairs), ages), dtype=np.int64)
    money[at] = sums["money"].to_numpy(dtype=np.int64)
    paying[at] = sums["paying"].to_numpy(dtype=np.int64)
    money, paying = money.cumsum(axis=1), paying.cumsum(axis=1)
    size = paying[:, 0]
    values = paying / size[:, None] if kind == "logo" else money / money[:, [0]]
    values[np.arange(ages)[None, :] > (hi - codes)[:, None]] = np.nan  # not yet observed
    cohort = pd.PeriodIndex.from_ordinals(codes, freq="M", name="cohort")
    index = cohort if by is None else pd.MultiIndex.from_arrays([pairs.get_level_values(0).astype("str"), cohort],
                                                                 names=[by, "cohort"])
    return retention_frame(pd.DataFrame(values, index=index), pd.Series(size, index=index), max_age)
