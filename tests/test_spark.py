"""The contract read from Apache Spark (kpilib/data/spark.py) is the contract read from the folder.

A local Spark (pyspark in local mode, a Java runtime that .ci/run installs) holds the sample
company as temporary views and as Parquet files; the raw event tables are aggregated inside Spark
by the database reader's own Ibis expressions. No mocks.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_database import _expected_traffic, _expected_usage, _product_events, _web_sessions, assert_same_tables

from kpilib import ContractError, KpiError, load_dataset
from kpilib.data.spark import load_spark, parse_spark_url, write_into_spark

from conftest import drop_views


@pytest.fixture
def views(spark):
    yield spark
    drop_views(spark)


@pytest.fixture(scope="module")
def sample():
    return load_dataset()


@pytest.mark.slow
def test_the_sample_read_from_spark_views_is_the_sample(views, sample):
    assert write_into_spark(sample, views) == {name: len(df) for name, df in sample.tables.items()}
    back = load_spark(views)
    assert_same_tables(back, sample)
    assert back.source == "the given Spark session"


@pytest.mark.slow
def test_a_parquet_folder_by_url_reads_like_the_folder(views, sample, tmp_path):
    write_into_spark(sample, views, parquet=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in sample.tables)
    url = f"spark://local[2]?parquet={tmp_path}"
    back = load_dataset(url)  # the session is already running: the URL finds it
    assert_same_tables(back, sample)
    assert back.source == url


@pytest.mark.slow
def test_raw_events_are_aggregated_inside_spark_like_pandas(views, tiny_dir, rng):
    tiny = load_dataset(tiny_dir)
    write_into_spark({k: v for k, v in tiny.tables.items() if k not in ("product_usage", "web_traffic")}, views)
    events, sessions = _product_events(rng), _web_sessions(rng)
    for name, frame, ddl in (("product_events", events, "customer_id string, timestamp timestamp, event string"),
                             ("web_sessions", sessions,
                              "timestamp timestamp, channel string, visitor_id string, bounced boolean")):
        rows = [tuple(_plain(v) for v in r) for r in frame.itertuples(index=False)]
        views.createDataFrame(rows, ddl).createOrReplaceTempView(name)
    back = load_spark(views)
    usage = _expected_usage(events, tiny.tables["product_usage"].dtypes)
    traffic = _expected_traffic(sessions, tiny.tables["web_traffic"].dtypes)
    for name, want in (("product_usage", usage), ("web_traffic", traffic)):
        got = back.tables[name]
        key = list(want.columns[:3] if name == "product_usage" else want.columns[:2])
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True), obj=name)


def _plain(value):
    """A Python value Spark takes: None for missing, datetime for Timestamp, bool for numpy's bool."""
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


@pytest.mark.slow
def test_a_contract_violation_in_spark_names_table_column_and_row(views, sample):
    subs = sample.subscriptions.copy()
    subs.loc[subs.index[0], "amount"] = -5.0
    write_into_spark({**sample.tables, "subscriptions": subs}, views)
    with pytest.raises(ContractError) as info:
        load_spark(views)
    assert (info.value.table, info.value.column) == ("subscriptions", "amount")
    assert "Spark session" in str(info.value)


@pytest.mark.slow
def test_a_failure_inside_spark_is_one_line_naming_its_cause(views, sample, tmp_path):
    write_into_spark(sample, views, parquet=tmp_path)
    for path in tmp_path.glob("*.parquet"):
        views.read.parquet(str(path)).createOrReplaceTempView(path.stem)
    for part in (tmp_path / "subscriptions.parquet").rglob("*.parquet"):
        part.write_bytes(b"not parquet")  # the view's files break after it was registered
    with pytest.raises(KpiError) as info:
        load_spark(views)
    message = str(info.value)
    assert message.startswith("Spark failed while returning rows to the kit: ") and "\n" not in message
    assert "subscriptions.parquet" in message and "is not a Parquet file" in message, message


@pytest.mark.parametrize(("url", "master", "options"), [
    ("spark://local", "local[2]", {}),
    ("spark://local[4]?parquet=/data/x", "local[4]", {"parquet": "/data/x"}),
    ("spark://master.internal:7077?database=analytics", "spark://master.internal:7077", {"database": "analytics"}),
])
def test_spark_urls(url, master, options):
    assert parse_spark_url(url) == (master, options)


@pytest.mark.parametrize(("url", "message"), [
    ("spark://", "names no Spark"),
    ("spark://local[2]?table=x", "unknown option"),
    ("spark://local[2]?parquet=/x&database=y", "not both"),
])
def test_a_bad_spark_url_is_a_kit_error(url, message):
    with pytest.raises(KpiError, match=message):
        parse_spark_url(url)


@pytest.mark.slow
def test_kpi_load_writes_parquet_that_kpi_report_reads(views, tmp_path, capsys):
    from kpilib.cli import main

    url = f"spark://local[2]?parquet={tmp_path / 'export'}"
    assert main(["load", "--data", "sample", "--to", url]) == 0
    assert "into spark://local[2]" in capsys.readouterr().out
    assert_same_tables(load_dataset(url), load_dataset())
    assert main(["load", "--data", "sample", "--to", "spark://local[2]"]) != 0  # views would not outlive it
    assert "parquet=FOLDER or database=NAME" in capsys.readouterr().err
