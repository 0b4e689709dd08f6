"""The heavy steps inside the engine that holds the data (issue 14, in progress).

When subscription history outgrows one machine's memory, its MRR movements and cohort retention
are computed where the rows are, and only the aggregates (months x movement kinds, cohorts x ages)
come back. The steps are Ibis expressions (one expression compiled for DuckDB, PostgreSQL, Spark,
BigQuery, Snowflake, Trino); DuckDB, PostgreSQL and a local Apache Spark are tested against the
in-memory path (``kpilib.metrics``): movements to the micro-unit, cohort ratios to 1e-12.

- :func:`connect` opens an engine: a SQLAlchemy URL (``duckdb:///file.duckdb``,
  ``postgresql+psycopg://user:password@host/db``), whose SQL dialect the expressions are compiled to
  (``ibis.to_sql``) and run on the kit's own connection; or a ``spark://`` URL
  (``spark://local[2]?parquet=/folder``, ``spark://host:7077?database=analytics``) or a
  ``SparkSession``, where they run as Spark SQL (:func:`spark_session`). The data layer's backends
  run them, the ones the database reader uses.
- :func:`engine_movements` is :func:`kpilib.mrr_movements` and :func:`kpilib.movement_counts`
  in one frame, computed in the engine.
- :func:`engine_cohorts` is :func:`kpilib.logo_retention` or :func:`kpilib.revenue_retention` of
  the customer x month MRR, computed in the engine (cohorts x ages come back, no customer row).
- :func:`engine_period_figures` is a pack's customer churn of the period, NRR and GRR, computed in the
  engine (one row comes back); :func:`engine_retention_trend` its NRR and GRR at
  each of the last 24 month ends (one row of sums). Every step here takes the pack's period (or
  ``as_of``, its end) and ``segment``: the subscriptions are then cut inside the engine as the pack of
  that period cuts them in memory (:mod:`kpilib.engine.asof`, from the same rule).
- :func:`engine_lifetimes` counts the customers per first paying spell (cohort, duration, churned, and
  segment when asked): :func:`kpilib.metrics.cohorts.km_survival` fits the Kaplan-Meier curve to those
  counts, the same curve as from one row per customer. :func:`engine_interval_counts`
  counts them in renewal periods of each customer's billing interval, for the sBG per interval.
- :func:`engine_breakdown` is :func:`kpilib.revenue_breakdown` by a customers column (segment, region,
  channel): MRR and the period's movements per group (groups x figures come back).
- :func:`engine_acquisition`: new customers, their MRR and every customer's MRR per acquisition channel
  (what CAC, the return per channel and the marketing share read from the grid).
- :func:`engine_contracts`: the bookings of the contracts signed in a period
  (:func:`kpilib.metrics.revenue.contract_values`: contracts, renewals, plan changes, TCV, ACV).
- :func:`engine_usage_sums` is the first step of the engagement scores: the product usage (or its raw
  ``product_events``) summed per account-month where it is stored, to the bit of the in-memory sums.

``kpi report`` leaves the product usage where it is stored (a database, Spark, a folder's Parquet file)
when :func:`~kpilib.engine.engagement.checked_usage_sums` finds it contract-valid there, and reads only its
sums; it reads the other contract tables into memory (docs/databases.md).
"""

from ..data.spark import spark_session
from .acquisition import engine_acquisition
from .bookings import engine_contracts
from .breakdown import engine_breakdown
from .engagement import engine_usage_sums
from .lifetimes import engine_interval_counts, engine_lifetimes
from .movements import Engine, connect, engine_cohorts, engine_movements
from .period import engine_period_figures, engine_retention_trend

__all__ = ["Engine", "connect", "engine_acquisition", "engine_breakdown", "engine_cohorts", "engine_contracts",
           "engine_interval_counts", "engine_lifetimes", "engine_movements", "engine_period_figures",
           "engine_retention_trend", "engine_usage_sums", "spark_session"]
