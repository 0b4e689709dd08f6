"""Read the data contract from Apache Spark: the database reader's queries, run as Spark SQL.

A ``spark://`` URL names the Spark to run on and where its tables are:

- ``spark://local[2]?parquet=/data/export``: a local Spark on two cores of this machine, each
  contract table a Parquet file or folder named after it (``/data/export/subscriptions.parquet``);
- ``spark://local[2]?database=analytics``, ``spark://master:7077?database=analytics``: the tables
  of a database of the session's catalog (a Hive metastore, Unity Catalog...);
- without either, the session's temporary views, under the contract's names.

The queries are :mod:`kpilib.data.databases`' own Ibis expressions compiled to Spark SQL, so raw
``product_events`` and ``web_sessions`` are aggregated inside Spark too. :func:`write_into_spark`
writes a dataset the other way, with the contract's types. pyspark and a Java runtime are needed
(``pip install 'kpilib[engine]'``; Debian: ``apt-get install default-jre-headless``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd

from ..errors import KpiError
from .contract import TABLES, Table
from .dataset import Dataset

#: contract kind -> the Arrow type its column goes to Spark as (Spark reads them as STRING, DATE, DOUBLE,
#: BIGINT; months as 'YYYY-MM' text, as in a database)
_ARROW_TYPES = {"id": "string", "text": "string", "enum": "string", "date": "date32", "month": "string",
                "money": "float64", "number": "float64", "count": "int64"}


def _arrow_table(df: pd.DataFrame, spec: Table) -> Any:
    """The contract table as an Arrow table of Spark's types (months as 'YYYY-MM', dates as dates,
    missing as null): Spark takes it column by column, with no Python object per value."""
    import pyarrow as pa

    columns = {}
    for name in df.columns:
        s, kind = df[name], spec.column(name).kind
        if kind == "month":
            s = s.dt.strftime("%Y-%m")
        elif kind == "date":  # midnight timestamps (the contract's dates) -> their day
            columns[name] = pa.array(s, from_pandas=True).cast(pa.date32(), safe=False)
            continue
        columns[name] = pa.array(s, type=getattr(pa, _ARROW_TYPES[kind])(), from_pandas=True)
    return pa.table(columns)


@dataclass
class SparkBackend:
    """Where the reader's Ibis queries run on Spark: a session, the tables of ``schema`` or its views."""

    session: Any  # pyspark.sql.SparkSession
    schema: str | None
    concurrent = True  # a session runs several queries at once (read_dataset fetches tables side by side)

    def __post_init__(self) -> None:
        _quiet_pyspark()

    def name(self, table: str) -> str:
        return f"`{self.schema}`.`{table}`" if self.schema else f"`{table}`"

    def columns(self, table: str) -> list[str]:
        return list(self.session.table(self.name(table)).columns)

    def tables(self) -> set[str]:
        listed = self.session.catalog.listTables(dbName=self.schema) if self.schema else \
            self.session.catalog.listTables()
        return {t.name for t in listed}

    def fetch(self, query) -> pd.DataFrame:
        import ibis

        if ibis.options.pyspark is None:  # the Spark SQL compiler reads the backend's options
            from ibis.backends.pyspark import Backend

            Backend.register_options()
        sql = str(ibis.to_sql(query, dialect="pyspark"))
        try:
            return self.session.sql(sql).toPandas()
        except Exception as exc:  # py4j's error carries the JVM's whole stack: its root cause is the news
            raise KpiError(f"Spark failed while returning rows to the kit: {_root_cause(exc)}") from None


def _quiet_pyspark() -> None:
    """Silence pyspark 4.0's harmless warnings while it hands results over: it passes pandas 3 a
    deprecated ``copy=``, and says when a column falls back from Arrow. Filters for warnings raised
    inside pyspark only, installed once for the process (the reads run in threads, and saving and
    restoring the process's filters around each of them would race)."""
    for message in ("The copy keyword is deprecated", "toPandas attempted Arrow optimization"):
        warnings.filterwarnings("ignore", message=message, module=r"pyspark\.")


def _root_cause(exc: BaseException) -> str:
    """The first line of the innermost Java exception behind a py4j error (else of the error itself)."""
    java = getattr(exc, "java_exception", None)
    while java is not None and java.getCause() is not None:
        java = java.getCause()
    text = str(java.toString()) if java is not None else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:500]


def _pyspark():
    """pyspark's ``SparkSession`` class, or a :class:`~kpilib.KpiError` saying how to install it."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise KpiError("Spark needs pyspark: pip install 'kpilib[engine]' (and a Java runtime, e.g. "
                       "apt-get install default-jre-headless)") from None
    return SparkSession


#: The JVM heap of a local Spark the kit starts (the driver is the whole of Spark there).
LOCAL_DRIVER_MEMORY = "4g"


def spark_session(master: str = "local[2]"):
    """A Spark session for ``master`` (``local[2]``, ``spark://host:7077``...), or the active one.

    A session started here is set for aggregates over a few machines' worth of rows: no web UI or
    console progress bars, dates in UTC, Arrow for the fetched results. On a local master: four
    shuffle partitions, and the whole fetched table may come back to this process (Spark's 1 GB
    default loses the 11M usage rows of 100 copies of the sample): a driver of
    :data:`LOCAL_DRIVER_MEMORY` and no cap on the results' size.
    """
    builder = (_pyspark().builder.master(master).appName("kpilib")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if master.startswith("local"):
        builder = (builder.config("spark.sql.shuffle.partitions", "4")
                   .config("spark.driver.memory", LOCAL_DRIVER_MEMORY).config("spark.driver.maxResultSize", "0"))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - no JVM, a master that does not answer: one clear error
        lines = str(exc).strip().splitlines()
        raise KpiError(f"cannot start Spark on {master}: {lines[0] if lines else type(exc).__name__}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def started_session(master: str):
    """``(session, started)``: the active session, or one started for ``master`` (``started`` True)."""
    active = _pyspark().getActiveSession()
    return (active, False) if active is not None else (spark_session(master), True)


def parse_spark_url(url: str) -> tuple[str, dict[str, str]]:
    """``spark://local[2]?parquet=/x`` -> ``("local[2]", {"parquet": "/x"})``; ``spark://local`` is
    ``local[2]``; ``spark://host:7077`` is that master. Options: ``parquet``, ``database``."""
    rest, _, query = url[len("spark://"):].partition("?")
    rest = rest.rstrip("/")
    if not rest:
        raise KpiError(f"{url!r} names no Spark: use spark://local[2] or spark://host:7077")
    master = ("local[2]" if rest == "local" else rest) if rest.startswith("local") else f"spark://{rest}"
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - {"parquet", "database"})
    if unknown:
        raise KpiError(f"{url!r}: unknown option(s) {', '.join(unknown)}; spark:// URLs take parquet= or database=")
    if "parquet" in options and "database" in options:
        raise KpiError(f"{url!r}: give parquet= (a folder) or database= (a Spark database), not both")
    return master, options


def register_parquet(session, folder: Path) -> None:
    """Every ``<name>.parquet`` file or folder of ``folder`` as the temporary view ``<name>``."""
    if not folder.is_dir():
        raise KpiError(f"parquet folder {str(folder)!r} is not a folder")
    for path in sorted(folder.glob("*.parquet")):
        session.read.parquet(str(path)).createOrReplaceTempView(path.stem)


def is_spark_url(text) -> bool:
    return isinstance(text, str) and text.strip().startswith("spark://")


@dataclass
class SparkSource:
    """An opened Spark source: where its queries run, its name in messages, and whether the session
    was started for it (then :meth:`close` stops it)."""

    backend: SparkBackend
    label: str
    started: bool

    def close(self) -> None:
        if self.started:
            self.backend.session.stop()


def open_spark(source, schema: str | None = None) -> SparkSource:
    """A ``spark://`` URL (its session, Parquet folder and database) or a ``SparkSession``, ready to
    read: the reader (:func:`load_spark`) and the engine (:func:`kpilib.engine.connect`) open it so.
    ``schema``: the Spark database, unless the URL names one (``database=``)."""
    if isinstance(source, str):
        master, options = parse_spark_url(source)
        session, started = started_session(master)
        label = source
    else:
        session, started, options, label = source, False, {}, "the given Spark session"
    opened = SparkSource(SparkBackend(session, options.get("database") or schema), label, started)
    try:
        if "parquet" in options:
            register_parquet(session, Path(options["parquet"]).expanduser().resolve())
        database = opened.backend.schema
        if database is not None and not session.catalog.databaseExists(database):
            raise KpiError(f"Spark database {database!r} does not exist in {label}")
    except BaseException:
        opened.close()
        raise
    return opened


def load_spark(source=None, *, base_currency: str = "USD", schema: str | None = None,
               mapping: str | Path | dict | None = None, skip: Iterable[str] = ()) -> Dataset:
    """Load and validate the contract tables from Spark: a ``spark://`` URL, a ``SparkSession``, or
    ``None`` for the URL in ``KPI_DATABASE_URL`` (as :func:`~kpilib.load_database` reads it).

    ``schema``: the Spark database (a URL's ``database=`` wins); ``mapping``: as for
    :func:`~kpilib.load_database`; ``skip``: contract tables not to read, as there. A session started here is
    stopped after reading.
    """
    from .databases import Reader, connection_from_env, read_dataset, read_mapping

    if source is None or isinstance(source, str):
        source, schema, mapping = connection_from_env(source, schema, mapping)
        source = source.strip()
    sources = read_mapping(mapping)
    opened = open_spark(source, schema)
    try:
        backend = opened.backend
        return read_dataset(Reader(backend, backend.schema, opened.label, sources, backend.tables()), base_currency,
                            skip)
    finally:
        opened.close()


def write_into_spark(dataset: Dataset | Mapping[str, pd.DataFrame], session, *, database: str | None = None,
                     parquet: str | Path | None = None) -> dict[str, int]:
    """Write every table of a validated dataset (or contract tables by name) into Spark with the
    contract's types (dates as DATE, months as 'YYYY-MM', amounts as DOUBLE, counts as BIGINT), so
    :func:`load_spark` reads back the same dataset: as ``<parquet>/<name>.parquet`` files, as tables
    of Spark ``database``, or (neither given) as temporary views. Returns table name -> rows written."""
    tables = dataset.tables if isinstance(dataset, Dataset) else dataset
    written = {}
    for name, df in tables.items():
        frame = session.createDataFrame(_arrow_table(df, TABLES[name]))
        if parquet is not None:
            frame.write.mode("overwrite").parquet(str(Path(parquet) / f"{name}.parquet"))
        elif database is not None:
            frame.write.mode("overwrite").saveAsTable(f"`{database}`.`{name}`")
        else:
            frame.createOrReplaceTempView(name)
        written[name] = len(df)
    return written


def load_into_spark(dataset: Dataset, url: str) -> dict[str, int]:
    """``kpi load --to spark://...``: :func:`write_into_spark` to the URL's ``parquet=`` folder or
    ``database=`` (temporary views would end with the session, so one of them is required)."""
    master, options = parse_spark_url(url.strip())
    if not options:
        raise KpiError(f"{url!r}: name where the tables go, parquet=FOLDER or database=NAME "
                       "(a session's views end with it)")
    session, started = started_session(master)
    try:
        return write_into_spark(dataset, session, database=options.get("database"),
                                parquet=Path(options["parquet"]).expanduser().resolve()
                                if "parquet" in options else None)
    finally:
        if started:
            session.stop()


__all__ = ["SparkBackend", "SparkSource", "is_spark_url", "load_into_spark", "load_spark", "open_spark",
           "parse_spark_url", "register_parquet", "spark_session", "started_session", "write_into_spark"]
