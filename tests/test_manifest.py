"""The audit trail: inputs described exactly, stale feeds flagged, nothing clock-dependent."""

from __future__ import annotations

import pandas as pd

import kpilib as kpi
from kpilib.report.manifest import input_tables, manifest, stale_tables, table_hash, table_hashes


def test_inputs_are_counted_dated_and_hashed(tiny_dir):
    ds = kpi.load_dataset(str(tiny_dir))
    tables = input_tables(ds, kpi.parse_period("2024-03"))
    assert tables.loc["subscriptions", "rows"] == 2
    assert (tables.loc["subscriptions", "first"], tables.loc["subscriptions", "last"]) == ("2024-01-15", "2024-02-03")
    assert tables.loc["financials", "last"] is not None
    # the hash follows the content: change one amount and it changes; reload and it does not
    again = kpi.load_dataset(str(tiny_dir))
    assert table_hash(again.subscriptions) == tables.loc["subscriptions", "sha256"]
    changed = ds.subscriptions.assign(amount=ds.subscriptions["amount"] + [0.0, 0.01])
    assert table_hash(changed) != tables.loc["subscriptions", "sha256"]


def test_a_feed_that_stopped_early_is_flagged_and_sales_tables_never_are(tiny_dir):
    ds = kpi.load_dataset(str(tiny_dir))
    period = kpi.parse_period("2024-06")  # web traffic stops on 2024-01-01: 181 days earlier
    lines = stale_tables(ds, period)
    assert any(line.startswith("'web_traffic' ends on 2024-01-01, 181 days") for line in lines)
    assert not any("subscriptions" in line or "customers" in line for line in lines)
    assert not stale_tables(ds, kpi.parse_period("2024-01"))


def test_the_manifest_holds_parameters_and_version_but_no_clock(tiny_dir):
    ds = kpi.load_dataset(str(tiny_dir))
    doc = manifest(ds, kpi.parse_period("2024-03"), {"period": "2024-03", "segment": "all"})
    assert doc["kpilib_version"] == kpi.__version__ and doc["parameters"]["segment"] == "all"
    assert set(doc["tables"]) == set(ds.tables)
    assert doc == manifest(ds, kpi.parse_period("2024-03"), {"period": "2024-03", "segment": "all"})
    assert not any(isinstance(v, pd.Timestamp) for t in doc["tables"].values() for v in t.values())
    # the runner hashes the tables in a thread beside the model: the same manifest
    hashes = table_hashes(ds)
    assert hashes["subscriptions"] == table_hash(ds.subscriptions) and set(hashes) == set(ds.tables)
    assert manifest(ds, kpi.parse_period("2024-03"), {"period": "2024-03", "segment": "all"}, hashes) == doc


def test_work_in_the_background_hands_back_its_result_or_its_error():
    import pytest

    from kpilib.report.runner import _in_background

    assert _in_background(sum, [1, 2, 3]).result(timeout=10) == 6
    with pytest.raises(ZeroDivisionError):
        _in_background(lambda: 1 / 0).result(timeout=10)
