"""The data layer's entry point: :func:`load_dataset` picks the reader for a source (the bundled
sample, a folder, a database URL) and returns a validated :class:`~kpilib.Dataset`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import KpiError
from ..paths import SAMPLE_DATA_DIR
from .dataset import Dataset
from .files import load_folder

# --------------------------------------------------------------------------- entry point


def load_dataset(source: str | Path | None = None, *, base_currency: str = "USD",
                 goals: str | Path | None = None, skip: Iterable[str] = ()) -> Dataset:
    """Load and validate a data source.

    Parameters
    ----------
    source
        A folder holding one ``<table>.csv`` or ``<table>.parquet`` per contract
        table; ``None`` (or ``"sample"``) loads the bundled sample company; a
        SQLAlchemy URL (``postgresql+psycopg://...``, ``duckdb:///file.duckdb``) reads a
        database; ``"database"`` reads the URL from the ``KPI_DATABASE_URL``
        environment variable (see docs/databases.md).
    base_currency
        ISO 4217 code all amounts are reported in; it must appear in fx_rates.
    goals
        A goals file (docs/data-contract.md, "Goals and annotations") to use instead of the
        folder's own ``goals.yaml``; the only way to give a database source goals.
    skip
        Optional contract tables not to read: ``kpi report`` leaves the product usage where it is
        when it reads only its sums there (:func:`kpilib.engine.engagement.load_for_report`).

    Returns
    -------
    Dataset

    Raises
    ------
    ContractError
        On the first contract violation, naming table, column, rule and rows.
    GoalsError
        The goals file breaks its schema.
    """
    dataset = _load_source(source, base_currency, tuple(skip))
    if goals is None:
        return dataset
    from .goals import attach_goals

    return attach_goals(dataset, Path(goals).expanduser())


def _load_source(source: str | Path | None, base_currency: str, skip: tuple[str, ...]) -> Dataset:
    if source == "database" or (isinstance(source, str) and "://" in source):
        from .databases import ENV_VAR, is_database_url, load_database

        if source == "database" or is_database_url(source):
            url = None if source == "database" else source  # None: the URL stays in KPI_DATABASE_URL
            from .spark import is_spark_url, load_spark

            if is_spark_url(url if url is not None else os.environ.get(ENV_VAR, "")):
                return load_spark(url, base_currency=base_currency, skip=skip)
            try:
                return load_database(url, base_currency=base_currency, skip=skip)
            except ValueError as exc:  # e.g. a port that is not a number: a bad URL, not a kit bug
                from .databases import mask_url

                shown = mask_url(url) if url else "in KPI_DATABASE_URL"
                raise KpiError(f"the database URL {shown} cannot be used: {exc}") from None
    if isinstance(source, str) and not source.strip():
        raise KpiError("the data source is empty: name a folder or a database URL, or leave it out "
                       "for the bundled sample company")
    directory = SAMPLE_DATA_DIR if source in (None, "sample") else Path(source).expanduser()
    label = "the bundled sample company" if directory == SAMPLE_DATA_DIR else str(directory)
    if not directory.is_dir():
        raise KpiError(f"data source {str(directory)!r} is not a folder")
    return load_folder(directory, label, base_currency=base_currency, skip=skip)


