"""The heavy steps inside the engine that holds the data (issue 14, in progress).

When subscription history outgrows one machine's memory, its MRR movements are computed where
the rows are, and only the aggregates (months x movement kinds) come back. The steps are Ibis
expressions (one expression compiled for DuckDB, PostgreSQL, Spark, BigQuery, Snowflake, Trino);
DuckDB and PostgreSQL are installed and tested against the in-memory path (``kpilib.metrics.mrr``),
to the micro-unit.

- :func:`connect` opens an engine from a SQLAlchemy URL (``duckdb:///file.duckdb``,
  ``postgresql+psycopg://user:password@host/db``): the expressions are compiled to its SQL
  dialect (``ibis.to_sql``) and run on the kit's own connection. Spark is not wired yet.
- :func:`engine_movements` is :func:`kpilib.mrr_movements` and :func:`kpilib.movement_counts`
  in one frame, computed in the engine.

The pack itself (``kpi report``) still reads the contract tables into memory; see docs/databases.md.
"""

from .movements import Engine, connect, engine_movements

__all__ = ["Engine", "connect", "engine_movements"]
