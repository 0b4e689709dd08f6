"""Read the data contract from a SQL database or Spark, and write a dataset into a database.

:func:`load_database` builds its queries as Ibis expressions, compiled to the database's own SQL
(``ibis.to_sql``: every identifier quoted by the dialect, no user value pasted into SQL) and run
on the kit's SQLAlchemy connection; ``spark://`` URLs run the same expressions as Spark SQL
(:mod:`kpilib.data.spark`). Each table is checked with :func:`~kpilib.data.load.validate_frame`
and the cross-table rules with :func:`~kpilib.data.load.finish_dataset`, exactly like a folder.

Two monthly/daily tables can instead be computed in the database from raw event
tables ("pushdown"): only the aggregates travel to pandas.

- ``product_events(customer_id, timestamp, event)`` -> ``product_usage``
- ``web_sessions(timestamp, channel, visitor_id, bounced)`` -> ``web_traffic``

Credentials come from the ``KPI_DATABASE_URL`` environment variable and are
masked in everything the kit prints or stores.
"""

from __future__ import annotations

import difflib
import json
import numbers
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..errors import ContractError, KpiError
from .contract import TABLES, Table
from .dataset import Dataset
from .validation import finish_dataset, validate_frame

ENV_VAR = "KPI_DATABASE_URL"
SCHEMA_ENV_VAR = "KPI_DATABASE_SCHEMA"
MAPPING_ENV_VAR = "KPI_DATABASE_MAPPING"

#: Raw event tables, their columns, and the contract table each aggregates to.
RAW_TABLES: dict[str, tuple[str, ...]] = {
    "product_events": ("customer_id", "timestamp", "event"),
    "web_sessions": ("timestamp", "channel", "visitor_id", "bounced"),
}
PUSHDOWN: dict[str, str] = {"product_usage": "product_events", "web_traffic": "web_sessions"}

_NOT_DATABASES = {"file", "http", "https", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "ftp", "sftp"}
_SECRET_KEYS = re.compile(r"pass|secret|token|key|credential|pwd", re.IGNORECASE)
_NUMERIC_KINDS = {"money", "count", "number"}


# --------------------------------------------------------------------------- URLs and credentials


def is_database_url(text: str | Path | None) -> bool:
    """Whether ``text`` looks like a SQLAlchemy database URL (``dialect[+driver]://...``).

    Folder paths, ``file://`` and object-store URLs are not database URLs.
    """
    if not isinstance(text, str):
        return False
    match = re.match(r"^([A-Za-z][A-Za-z0-9_]*)(\+[A-Za-z0-9_]+)?://", text.strip())
    return match is not None and match[1].lower() not in _NOT_DATABASES


def mask_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by ``***``.

    Safe to print, log and store in a report.
    """
    try:
        parsed = sa.make_url(url)
    except Exception:  # not parseable: blank anything between "://user:" and "@"
        return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)
    query = {k: ("***" if _SECRET_KEYS.search(k) else v) for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


def connection_from_env(url: str | None, schema: str | None, mapping) -> tuple[str, str | None, Any]:
    """``(url, schema, mapping)`` as given, or, when ``url`` is ``None``, from ``KPI_DATABASE_URL``,
    ``KPI_DATABASE_SCHEMA`` and ``KPI_DATABASE_MAPPING`` (``schema`` and ``mapping`` only where not given)."""
    if url is not None:
        return url, schema, mapping
    schema = schema if schema is not None else os.environ.get(SCHEMA_ENV_VAR) or None
    mapping = mapping if mapping is not None else os.environ.get(MAPPING_ENV_VAR) or None
    return database_url_from_env(), schema, mapping


def database_url_from_env() -> str:
    """The database URL from ``KPI_DATABASE_URL``.

    The URL is read from the environment so that credentials never appear in
    notebook parameters, command lines or reports.

    Raises
    ------
    KpiError
        When the variable is unset or empty, or does not hold a database URL.
    """
    url = os.environ.get(ENV_VAR, "").strip()
    if not url:
        raise KpiError(f"{ENV_VAR} is not set: export {ENV_VAR}=postgresql+psycopg://user:password@host/db "
                       f"(or duckdb:///path/to/file.duckdb) to read from a database")
    if not is_database_url(url):
        raise KpiError(f"{ENV_VAR} does not hold a database URL (dialect+driver://...): {mask_url(url)}")
    return url


def _scrub(message: str, url: sa.URL) -> str:
    """A driver message, first line, with the password removed should the driver echo it."""
    line = (message.strip().splitlines() or [""])[0]
    return line.replace(url.password, "***") if url.password else line


def _engine(url: str, *, read_only: bool) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise KpiError(f"not a database URL: {mask_url(url)}") from None
    connect_args: dict = {}
    if parsed.get_backend_name() == "duckdb":
        if read_only and parsed.database not in (None, "", ":memory:"):
            if not Path(parsed.database).expanduser().exists():
                where = "" if Path(parsed.database).expanduser().is_absolute() else (
                    f" (a path after duckdb:/// is relative to {Path.cwd()}; duckdb://// starts an absolute one)")
                raise KpiError(f"DuckDB file {parsed.database} does not exist{where}")
            connect_args["read_only"] = True  # parallel notebook workers may share the file
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise KpiError(f"no SQLAlchemy driver for {parsed.drivername!r} ({exc}); for PostgreSQL use "
                       "postgresql+psycopg://, for DuckDB duckdb:///file.duckdb") from None
    if parsed.get_backend_name() == "duckdb":
        sa.event.listen(engine, "connect", _quiet_duckdb)
    return engine


def _quiet_duckdb(dbapi_connection, _record) -> None:
    """DuckDB draws a progress bar for long queries; it must not land in a notebook's output.

    Inside a Jupyter kernel without ipywidgets DuckDB refuses to change the setting; it cannot
    draw the bar there either, so that refusal is safe to ignore.
    """
    try:
        dbapi_connection.execute("SET enable_progress_bar = false")
    except Exception as exc:  # duckdb.InvalidInputError, raised only inside Jupyter
        if "progress bar" not in str(exc):
            raise


@contextmanager
def _database_errors(url: sa.URL, doing: str) -> Iterator[None]:
    """Turn driver errors into a :class:`KpiError` that names the masked URL, never the password."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise KpiError(f"{doing} {mask_url(url.render_as_string(hide_password=False))} failed: "
                       f"{_scrub(str(exc.orig), url)}") from None


# --------------------------------------------------------------------------- mapping file


@dataclass(frozen=True)
class _Source:
    """Where one contract or raw table lives in the database."""

    table: str
    columns: dict[str, str] = field(default_factory=dict)  # contract name -> database name
    mapped: bool = False

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


def read_mapping(mapping: str | Path | dict | None) -> dict[str, _Source]:
    """Parse a mapping (a JSON or TOML file, or a dict) into table name -> :class:`_Source`.

    The format is ``{"subscriptions": {"table": "billing_subs", "columns": {"amount": "amt"}}}``;
    keys are contract tables or the raw tables ``product_events`` / ``web_sessions``.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        path = Path(mapping).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
            mapping = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise KpiError(f"mapping file {path} cannot be read: {exc}") from None
    known = {**{n: t.column_names for n, t in TABLES.items()}, **RAW_TABLES}
    out: dict[str, _Source] = {}
    for name, entry in mapping.items():
        if name not in known:
            raise KpiError(f"mapping: unknown table {name!r}; known: {', '.join(known)}")
        if not isinstance(entry, dict) or set(entry) - {"table", "columns"}:
            raise KpiError(f"mapping: {name!r} must hold 'table' and/or 'columns' only")
        columns = entry.get("columns", {})
        if not isinstance(columns, dict):
            raise KpiError(f"mapping: 'columns' of {name!r} must map contract column -> database column")
        bad = [c for c in columns if c not in known[name]]
        if bad:
            raise KpiError(f"mapping: {name!r} has no column {bad[0]!r}; its columns: {', '.join(known[name])}")
        values = [entry.get("table", name), *columns.values()]
        if not all(isinstance(v, str) and v for v in values):
            raise KpiError(f"mapping: table and column names of {name!r} must be non-empty text")
        out[name] = _Source(entry.get("table", name), dict(columns), mapped=True)
    return out


# --------------------------------------------------------------------------- the queries, in Ibis

#: SQLAlchemy dialect name -> the Ibis SQL dialect its queries are compiled to
IBIS_DIALECTS = {"duckdb": "duckdb", "postgresql": "postgres", "snowflake": "snowflake", "bigquery": "bigquery",
                 "trino": "trino", "databricks": "databricks", "mysql": "mysql", "mssql": "mssql",
                 "oracle": "oracle", "sqlite": "sqlite", "exasol": "exasol", "risingwave": "risingwave"}
#: the Ibis types of the raw event columns the aggregates compute with
_RAW_TYPES = {"customer_id": "string", "timestamp": "timestamp", "event": "string", "channel": "string",
              "visitor_id": "string", "bounced": "boolean"}


def _product_usage_query(src, s: _Source):
    """product_events -> product_usage: events per customer, month and event."""
    events = src.select(customer_id=src[s.column("customer_id")],
                        month=src[s.column("timestamp")].truncate("M").cast("date"),
                        event=src[s.column("event")])
    return events.group_by(["customer_id", "month", "event"]).aggregate(count=events.count())


def _web_traffic_query(src, s: _Source):
    """web_sessions -> web_traffic: sessions, visitors, first-time visitors, bounces per day and channel.

    A visitor is new on the day of their first session ever (any channel), in
    every channel they came through that day.
    """
    import ibis

    sessions = src.select(day=src[s.column("timestamp")].cast("date"), channel=src[s.column("channel")],
                          visitor_id=src[s.column("visitor_id")], bounced=src[s.column("bounced")].cast("int32"))
    first = sessions.group_by("visitor_id").aggregate(first_day=sessions.day.min())
    seen = sessions.left_join(first, "visitor_id")
    is_new = ibis.cases((seen.day == seen.first_day, seen.visitor_id), else_=ibis.null("string"))
    return seen.group_by(date=seen.day, channel=seen.channel).aggregate(
        sessions=seen.count(), unique_visitors=seen.visitor_id.nunique(), new_visitors=is_new.nunique(),
        bounced_sessions=seen.bounced.sum().fill_null(0))


_AGGREGATE = {"product_events": _product_usage_query, "web_sessions": _web_traffic_query}


def _ordered(query, key: tuple[str, ...]):
    """Rows in key order (NULLs last on every dialect), so record numbers are stable."""
    import ibis

    return query.order_by([ibis.asc(k, nulls_first=False) for k in key])


# --------------------------------------------------------------------------- reading


def _driver(conn: sa.Connection, doing: str) -> Any:
    """The driver's own connection under ``conn`` (DuckDB's, psycopg's), for its bulk paths; a
    :class:`KpiError` when it has closed meanwhile."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise KpiError(f"the {conn.dialect.name} connection closed while {doing}")
    return raw


#: Rows fetched from a SQL database at a time (DuckDB hands over whole Arrow tables instead).
FETCH_ROWS = 200_000


@dataclass
class SqlBackend:
    """Where the reader's Ibis queries run: a SQLAlchemy connection, in its dialect's SQL."""

    conn: sa.Connection
    schema: str | None
    dialect: str

    def columns(self, table: str) -> list[str]:
        return _columns(self.conn, table, self.schema)

    def fetch(self, query) -> pd.DataFrame:
        import ibis

        sql = str(ibis.to_sql(query, dialect=self.dialect))
        if self.dialect == "duckdb":  # DuckDB hands its columns over as Arrow: no Python object per value
            duck = _driver(self.conn, "reading")
            import duckdb

            try:
                # each Arrow column freed as it is converted: the table is not held twice
                return duck.sql(sql).to_arrow_table().to_pandas(split_blocks=True, self_destruct=True)
            except duckdb.Error as exc:  # as SQLAlchemy raises the driver's errors, for _database_errors
                raise sa.exc.DBAPIError(sql, None, exc) from None
        # FETCH_ROWS at a time, through a server-side cursor where the driver has one (PostgreSQL): only
        # one chunk of rows is ever Python objects, each chunk a frame at once (text as Arrow strings)
        result = self.conn.execution_options(stream_results=True).execute(sa.text(sql))
        columns = list(result.keys())
        # plain tuples: pandas probes every SQLAlchemy row for array attributes, which costs about as
        # much as the fetch itself (1.35M rows: 15 s -> 7 s from PostgreSQL)
        frames = [pd.DataFrame.from_records([tuple(row) for row in part], columns=columns)
                  for part in result.partitions(FETCH_ROWS)]
        if len(frames) == 1:
            return frames[0]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def ibis_dialect(name: str, label: str) -> str:
    """The Ibis dialect of SQLAlchemy dialect ``name``, or a :class:`KpiError` naming the ones there are."""
    if name not in IBIS_DIALECTS:
        raise KpiError(f"cannot query {label}: the kit compiles its queries with Ibis, which has no "
                       f"{name!r} dialect; it has {', '.join(sorted(IBIS_DIALECTS))} (and spark://)")
    return IBIS_DIALECTS[name]


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_))


def _typed(raw: pd.DataFrame, spec: Table, where: str) -> pd.DataFrame:
    """Database values -> the types :func:`validate_frame` expects with ``typed=True``.

    Decimals (NUMERIC columns) and all-NULL columns become float64; month columns
    stored as dates become datetime64 and must hold first days of months. Values of
    a wrong type (text in a numeric column...) are left for the contract to reject.
    """
    columns = {}
    for name in raw.columns:
        s, kind = raw[name], spec.column(name).kind
        if kind in _NUMERIC_KINDS and s.dtype == object and s.dropna().map(_is_number).all():
            s = pd.to_numeric(s).astype("float64")
        elif kind == "month" and (pd.api.types.is_datetime64_any_dtype(s) or (
                s.dtype == object and s.notna().any()
                and s.dropna().map(lambda v: isinstance(v, (date, datetime))).all())):
            s = pd.to_datetime(s)
            off = s.notna() & (s != s.dt.to_period("M").dt.start_time)
            if off.any():
                raise ContractError(spec.name, name, "month dates must be the first day of a month "
                                    "(or store months as YYYY-MM text)",
                                    (np.flatnonzero(off) + 1).tolist(), where)
        columns[name] = s
    return pd.DataFrame(columns, index=raw.index)


def _columns(conn: sa.Connection, table: str, schema: str | None) -> list[str]:
    """Column names of a table or view.

    Through the dialect's reflection (catalog metadata, never a scan of the data),
    except on DuckDB, where duckdb-engine's reflection fails with SQLAlchemy
    >= 2.0.45 (it queries a pg_collation catalog DuckDB lacks): there an empty
    query names the columns.
    """
    if conn.dialect.name != "duckdb":
        return [c["name"] for c in sa.inspect(conn).get_columns(table, schema=schema)]
    probe: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(sa.table(table, schema=schema)).limit(0)
    return list(conn.execute(probe).keys())


def _match(name: str, available: Iterable[str]) -> str | None:
    """``name`` as the database spells it: exact, else the one name equal ignoring case.

    Folded identifiers differ by dialect (PostgreSQL lower-cases, Snowflake upper-cases),
    so ``Amount`` in a mapping still finds ``amount``.
    """
    available = list(available)
    if name in available:
        return name
    folded = [a for a in available if a.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def _resolve(wanted: list[tuple[str, str]], have: list[str]) -> list[tuple[str, str]]:
    """(contract name, database name) pairs, database names as spelled in ``have`` when found."""
    return [(contract, _match(db, have) or db) for contract, db in wanted]


def _require_columns(name: str, wanted: list[tuple[str, str]], have: list[str], where: str) -> None:
    """Raise when a required column is absent: ``wanted`` is (contract name, database name)."""
    for contract, db in wanted:
        if db not in have:
            spare = [c for c in have if c not in {d for _, d in wanted}]
            hint = difflib.get_close_matches(db, spare, n=1)
            did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
            mapped = f" (mapped to '{db}')" if db != contract else ""
            raise ContractError(name, contract, f"required column is missing{mapped}{did_you_mean}",
                                file=where)


@dataclass
class Reader:
    """One connection, the tables it holds, and the notes gathered while reading."""

    backend: Any  # SqlBackend or kpilib.data.spark.SparkBackend: columns(table), fetch(query)
    schema: str | None
    label: str  # the masked URL
    sources: dict[str, _Source]
    present: set[str]
    notes: list[str] = field(default_factory=list)

    def source(self, name: str) -> _Source | None:
        s = self.sources.get(name, _Source(name))
        table = _match(s.table, self.present)
        if table is not None:
            return replace(s, table=table)
        if s.mapped:
            raise ContractError(name, None, f"mapped table '{s.table}' does not exist in {self.label}")
        return None

    def where(self, table: str) -> str:
        return f"table {self.schema + '.' if self.schema else ''}{table} in {self.label}"

    def table(self, s: _Source, columns: dict[str, str]):
        """The Ibis table ``s`` with ``columns`` (database name -> Ibis type)."""
        import ibis

        return ibis.table(columns, name=s.table, database=self.schema)

    def read_contract(self, spec: Table, s: _Source) -> tuple[pd.DataFrame, str]:
        where = self.where(s.table)
        have = self.backend.columns(s.table)
        wanted = _resolve([(c.name, s.column(c.name)) for c in spec.columns], have)
        _require_columns(spec.name, [w for w in wanted if not spec.column(w[0]).optional], have, where)
        found = [(c, db) for c, db in wanted if db in have]
        extra = [c for c in have if c not in {db for _, db in found}]
        if extra:
            self.notes.append(f"table '{spec.name}' ({where}): columns not in the contract are not read: "
                              + ", ".join(extra))
        # every stored column, so that a projection of some is never compiled to "SELECT *"; the types only
        # name them (values are read as stored)
        src = self.table(s, dict.fromkeys(have, "string"))
        query = _ordered(src.select(**{c: src[db] for c, db in found}), spec.key_in(c for c, _ in found))
        return _typed(self.backend.fetch(query), spec, where), where

    def read_raw(self, spec: Table, raw_name: str, s: _Source) -> tuple[pd.DataFrame, str]:
        where = f"{spec.name} aggregated from {self.where(s.table)}"
        have = self.backend.columns(s.table)
        wanted = _resolve([(c, s.column(c)) for c in RAW_TABLES[raw_name]], have)
        _require_columns(raw_name, wanted, have, where)
        s = replace(s, columns=dict(wanted))
        types = dict.fromkeys(have, "string") | {db: _RAW_TYPES[c] for c, db in wanted}
        query = _ordered(_AGGREGATE[raw_name](self.table(s, types), s), spec.key)
        return _typed(self.backend.fetch(query), spec, where), where

    def read(self, spec: Table) -> tuple[pd.DataFrame, str] | None:
        s = self.source(spec.name)
        raw_name = PUSHDOWN.get(spec.name)
        raw = self.source(raw_name) if raw_name else None
        if s is not None:
            if raw is not None:
                self.notes.append(f"table '{spec.name}' is read as stored; the raw table "
                                  f"'{raw.table}' also exists and was not aggregated")
            return self.read_contract(spec, s)
        return self.read_raw(spec, raw_name, raw) if raw_name and raw is not None else None


def _has_schema(names: list[str], schema: str) -> bool:
    """DuckDB lists schemas as ``database.schema``; other dialects as ``schema``."""
    return any(n.replace('"', "") == schema or n.replace('"', "").endswith("." + schema) for n in names)


def _snapshot(conn: sa.Connection) -> sa.Connection:
    """One consistent, read-only view of every table where the dialect offers it."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return conn


def load_database(url: str | None = None, *, base_currency: str = "USD", schema: str | None = None,
                  mapping: str | Path | dict | None = None, skip: Iterable[str] = ()) -> Dataset:
    """Load and validate the contract tables from a SQL database.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``postgresql+psycopg://user:password@host/db`` or
        ``duckdb:///path/file.duckdb``. ``None`` reads the connection from the
        environment: ``KPI_DATABASE_URL``, and ``KPI_DATABASE_SCHEMA`` and
        ``KPI_DATABASE_MAPPING`` unless ``schema`` / ``mapping`` are given.
    base_currency
        ISO 4217 code all amounts are reported in.
    schema
        Database schema holding the tables (default: the connection's default).
    mapping
        A JSON or TOML file (or dict) naming the database table and columns of a
        contract table when they differ: ``{"subscriptions": {"table":
        "billing_subs", "columns": {"amount": "amt"}}}``.
    skip
        Contract tables not to read (nor check): ``kpi report`` leaves the product usage in the
        database when it reads only its sums there (:mod:`kpilib.engine.engagement`).

    Returns
    -------
    Dataset
        With ``source`` the URL with its password masked.

    Notes
    -----
    Rows are read in key order, so the record numbers in a
    :class:`~kpilib.ContractError` (from 1) count rows sorted by the table's key.
    When ``product_usage`` or ``web_traffic`` is absent but the raw
    ``product_events`` or ``web_sessions`` table exists, the aggregate is computed
    in the database and only its result is read.

    Raises
    ------
    ContractError
        On the first contract violation, naming table, column, rule and records.
    KpiError
        When the database cannot be reached or read, or the mapping is invalid.
    """
    url, schema, mapping = connection_from_env(url, schema, mapping)
    sources = read_mapping(mapping)
    engine = _engine(url, read_only=True)
    label = mask_url(url)
    try:
        with _database_errors(engine.url, "reading"), _snapshot(engine.connect()) as conn, conn.begin():
            dialect = ibis_dialect(conn.dialect.name, label)
            inspector = sa.inspect(conn)
            if schema is not None and not _has_schema(inspector.get_schema_names(), schema):
                raise KpiError(f"schema {schema!r} does not exist in {label}")
            listed = schema if schema is not None else inspector.default_schema_name  # DuckDB lists all
            present = set(inspector.get_table_names(schema=listed)) | set(inspector.get_view_names(schema=listed))
            reader = Reader(SqlBackend(conn, schema, dialect), schema, label, sources, present)
            return read_dataset(reader, base_currency, skip)
    finally:
        engine.dispose()


#: Tables fetched at a time from a backend that runs queries side by side (``concurrent``: Spark, where
#: each query waits mostly on the engine's planning and scheduling, not on this process).
CONCURRENT_READS = 4


def read_dataset(reader: Reader, base_currency: str, skip: Iterable[str] = ()) -> Dataset:
    """Every contract table ``reader`` finds, each validated, then the cross-table rules.

    The tables are validated in the contract's order, each as soon as it has been read, and its raw
    frame let go once validated: read in turn, a source holds at most one table twice (raw and
    validated), never every raw table at once (at 100 copies of the sample, DuckDB's load peaked at
    3.95 GB when every raw table waited for the first validation, 3.54 GB now). A backend marked
    ``concurrent`` has its tables fetched :data:`CONCURRENT_READS` at a time (one SQLAlchemy
    connection takes one query at a time, so SQL databases are read in turn): there, the raw tables
    fetched ahead of the one being validated wait for their turn. Either way each read's notes and
    error stay with its table, so the error raised and the notes are those of reading them in turn."""
    def fetch(spec: Table) -> tuple[tuple[pd.DataFrame, str] | None, list[str], Exception | None]:
        own = replace(reader, notes=[])
        try:
            return own.read(spec), own.notes, None
        except Exception as exc:  # noqa: BLE001 - raised below, in the contract's order
            return None, own.notes, exc

    tables: dict[str, pd.DataFrame] = {}
    wheres: dict[str, str] = {}

    def take(spec: Table, fetched: tuple[tuple[pd.DataFrame, str] | None, list[str], Exception | None]) -> None:
        found, read_notes, error = fetched
        reader.notes.extend(read_notes)
        if error is not None:
            raise error
        if found is None:
            return
        raw, wheres[spec.name] = found
        tables[spec.name], notes = validate_frame(raw, spec, offset=1, where=wheres[spec.name], typed=True)
        reader.notes.extend(notes)

    skipped = set(skip)
    specs = [spec for spec in TABLES.values() if spec.name not in skipped]
    if getattr(reader.backend, "concurrent", False):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(CONCURRENT_READS, thread_name_prefix="kpilib-read") as pool:
            pending = deque(pool.submit(fetch, spec) for spec in specs)
            for spec in specs:
                take(spec, pending.popleft().result())  # taken off the queue: its raw frame goes once validated
    else:
        for spec in specs:
            take(spec, fetch(spec))
    return finish_dataset(tables, offsets=dict.fromkeys(tables, 1), wheres=wheres, notes=reader.notes,
                          source=reader.label, base_currency=base_currency)


# --------------------------------------------------------------------------- writing


_SQL_TYPES: dict[str, Callable[[], Any]] = {
    "id": sa.Text, "text": sa.Text, "enum": sa.Text, "date": sa.Date, "month": lambda: sa.String(7),
    "money": sa.Double, "number": sa.Double, "count": sa.BigInteger}


def _sql_table(spec: Table, columns: list[str], metadata: sa.MetaData) -> sa.Table:
    return sa.Table(spec.name, metadata, *(
        sa.Column(c, _SQL_TYPES[spec.column(c).kind](), primary_key=c in spec.key,
                  nullable=spec.column(c).nullable) for c in columns))


def _records(df: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """The table with database-ready values: months as 'YYYY-MM', dates as dates, NULL for missing."""
    out = {}
    for name in df.columns:
        s, kind = df[name], spec.column(name).kind
        if kind == "month":
            s = s.dt.strftime("%Y-%m")
        elif kind == "date":
            s = s.dt.date
        out[name] = [None if pd.isna(v) else v for v in s.tolist()]
    return pd.DataFrame(out, columns=df.columns, dtype=object)


#: Rows turned into database values and written at a time: the Python objects of a whole event
#: table (11M rows at 100 copies of the sample) would take several GB.
INSERT_ROWS = 200_000


def _insert(conn: sa.Connection, table: sa.Table, df: pd.DataFrame, spec: Table) -> None:
    """Write ``df`` into ``table``, :data:`INSERT_ROWS` at a time, in the connection's transaction.

    Bulk paths where the driver has one: DuckDB scans each chunk as a frame; PostgreSQL (psycopg)
    takes the rows through ``COPY ... FROM STDIN``. Other databases get one multi-row INSERT."""
    for start in range(0, len(df), INSERT_ROWS):
        records = _records(df.iloc[start:start + INSERT_ROWS], spec)
        if conn.dialect.name == "duckdb":  # DuckDB scans the frame itself
            view = "kpilib_load_" + table.name  # lives on this connection, which is disposed of after
            duck = _driver(conn, f"writing table '{table.name}'")
            duck.register(view, records)
            frame = sa.table(view, *(sa.column(c) for c in records.columns))
            conn.execute(table.insert().from_select(list(records.columns), sa.select(frame)))
            duck.unregister(view)
        elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            _copy_into(conn, table, records)
        else:
            conn.execute(table.insert(), records.to_dict("records"))


def _copy_into(conn: sa.Connection, table: sa.Table, records: pd.DataFrame) -> None:
    """PostgreSQL's bulk load of ``records`` (database values, see :func:`_records`) into ``table``,
    on the connection's own psycopg connection, so inside its transaction. A refusal (a duplicate key)
    is raised as SQLAlchemy raises the driver's errors, for :func:`_database_errors`."""
    import psycopg
    from psycopg import sql

    raw = _driver(conn, f"writing table '{table.name}'")
    target = sql.Identifier(*([table.schema] if table.schema else []), table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in records.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, columns)
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in records.itertuples(index=False, name=None):
                copy.write_row(row)
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError(statement.as_string(raw), None, exc) from None


def load_folder_into_database(dataset: Dataset, url: str, *, schema: str | None = None,
                              if_exists: str = "replace") -> dict[str, int]:
    """Write every table of a validated dataset into a database, in one transaction.

    Tables get the contract names, a primary key on the contract key, months as
    ``'YYYY-MM'`` text, dates as DATE, amounts as double precision and counts as
    BIGINT, so :func:`load_database` reads back the same dataset.

    Parameters
    ----------
    dataset
        A validated :class:`Dataset` (e.g. from ``load_dataset(folder)``).
    url
        SQLAlchemy URL of the target database.
    schema
        Schema to write into; created when missing.
    if_exists
        ``"replace"`` drops and recreates contract tables that exist, ``"append"``
        adds rows to them, ``"fail"`` refuses to touch an existing table.

    Returns
    -------
    dict
        Table name -> rows written.
    """
    if if_exists not in ("replace", "append", "fail"):
        raise KpiError(f"if_exists must be 'replace', 'append' or 'fail', not {if_exists!r}")
    engine = _engine(url, read_only=False)
    try:
        with _database_errors(engine.url, "writing to"), engine.begin() as conn:
            if schema is not None:
                conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            else:  # named, because DuckDB looks for unqualified names in every schema
                schema = sa.inspect(conn).default_schema_name
            metadata = sa.MetaData(schema=schema)
            targets = {name: _sql_table(TABLES[name], list(df.columns), metadata)
                       for name, df in dataset.tables.items()}
            existing = set(sa.inspect(conn).get_table_names(schema=schema)) & set(targets)
            if existing and if_exists == "fail":
                raise KpiError(f"tables already exist in {mask_url(url)}: {', '.join(sorted(existing))} "
                               "(use if_exists='replace' or 'append')")
            if if_exists == "replace":
                for name in existing:
                    targets[name].drop(conn)
            metadata.create_all(conn, checkfirst=True)
            for name, df in dataset.tables.items():
                _insert(conn, targets[name], df, TABLES[name])
    finally:
        engine.dispose()
    return {name: len(df) for name, df in dataset.tables.items()}
