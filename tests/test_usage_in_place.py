"""The product usage left where it is stored (kpilib.engine.engagement.load_for_report): a database's
table, or a folder's Parquet file that DuckDB reads in place. The engagement page is then the one a
fully loaded pack shows, word for word and chart for chart; usage the engine's check doubts is loaded
and validated as before, and refused with the loader's own error."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from kpilib import ContractError, build_report, load_dataset
from kpilib.data.databases import load_folder_into_database
from kpilib.paths import SAMPLE_DATA_DIR

GOALS = SAMPLE_DATA_DIR / "goals.yaml"


@pytest.fixture(scope="module")
def loaded_pack(tmp_path_factory) -> Path:
    """The engagement page of the bundled sample (CSV: every table loaded)."""
    return build_report("2025-12", out=tmp_path_factory.mktemp("folder"), notebooks=["05_nps"], progress=False)


def _page_text(page: Path) -> str:
    """A page's words and numbers without its data-source lines (the folder's name or the URL)."""
    text = re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8"))
    return "\n".join(line for line in text.splitlines() if line.strip() and "data: " not in line
                     and "bundled sample company" not in line)


def _images(page: Path) -> list[str]:
    return re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page.read_text(encoding="utf-8"))


def _same_engagement_page(pack: Path, loaded_pack: Path) -> None:
    page, want = pack / "05_nps.html", loaded_pack / "05_nps.html"
    assert "Engagement band" in _page_text(page) and "No product_usage table" not in _page_text(page)
    assert _page_text(page) == _page_text(want)
    assert _images(page) == _images(want) and len(_images(page)) == 4


def _left_in_place(pack: Path) -> None:
    """The manifest lists the usage with its rows and months, and no hash: it was never read here."""
    usage = load_dataset().tables["product_usage"]
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["product_usage"] == {"rows": len(usage), "first": "2023-01-01", "last": "2025-12-31",
                                                   "sha256": None, "stale": False}
    assert "none: read in place" in (pack / "index.html").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def in_place_from_any_size(monkeypatch):
    """A folder's Parquet usage is summed in place from 15M rows (FOLDER_IN_PLACE_ROWS); here from any."""
    monkeypatch.setattr("kpilib.engine.engagement.FOLDER_IN_PLACE_ROWS", 0)


def _parquet_folder(folder: Path, usage: pd.DataFrame | None = None) -> Path:
    """The sample's CSV files, but the usage as Parquet (months as YYYY-MM text, counts as integers)."""
    folder.mkdir()
    for f in SAMPLE_DATA_DIR.glob("*.csv"):
        if f.stem != "product_usage":
            shutil.copy(f, folder / f.name)
    if usage is None:
        usage = pd.read_csv(SAMPLE_DATA_DIR / "product_usage.csv", dtype={"customer_id": str, "month": str,
                                                                           "event": str, "count": "int64"})
    usage.to_parquet(folder / "product_usage.parquet", index=False)
    return folder


@pytest.mark.slow
def test_a_database_pack_computes_engagement_where_the_usage_is(loaded_pack, tmp_path):
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    load_folder_into_database(load_dataset(), url)
    pack = build_report("2025-12", data=url, out=tmp_path / "db", notebooks=["05_nps"], goals=GOALS, progress=False)
    _left_in_place(pack)
    _same_engagement_page(pack, loaded_pack)


@pytest.mark.slow
def test_a_small_parquet_usage_is_loaded(tmp_path, monkeypatch):
    """Below FOLDER_IN_PLACE_ROWS rows pandas loads the usage, faster than DuckDB checks and sums it."""
    from kpilib.engine.engagement import load_for_report

    folder = _parquet_folder(tmp_path / "data")
    monkeypatch.setattr("kpilib.engine.engagement.FOLDER_IN_PLACE_ROWS", 110_997)  # the sample: 110,996 rows
    assert load_for_report(str(folder)).usage_sums is None
    monkeypatch.setattr("kpilib.engine.engagement.FOLDER_IN_PLACE_ROWS", 110_996)
    assert load_for_report(str(folder)).usage_sums is not None


@pytest.mark.slow
def test_a_folder_s_parquet_usage_is_read_in_place(loaded_pack, tmp_path):
    pack = build_report("2025-12", data=str(_parquet_folder(tmp_path / "data")), out=tmp_path / "out",
                        notebooks=["05_nps"], progress=False)
    _left_in_place(pack)
    _same_engagement_page(pack, loaded_pack)


@pytest.mark.slow
def test_usage_the_database_check_doubts_is_loaded_and_refused_as_from_a_folder(tmp_path):
    """A negative count: the engine's check finds it, the usage is loaded as usual, and the pack is
    refused with the loader's error naming table, column, rule and row; nothing is written."""
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    sample = load_dataset()
    usage = sample.tables["product_usage"].copy()
    usage.loc[usage.index[5], "count"] = -4
    load_folder_into_database(replace(sample, tables={**sample.tables, "product_usage": usage}), url)
    # a database's rows are numbered in key order
    row = usage.sort_values(["customer_id", "month", "event"]).index.get_loc(usage.index[5]) + 1
    with pytest.raises(ContractError) as refused:
        build_report("2025-12", data=url, out=tmp_path / "db", notebooks=["05_nps"], progress=False)
    message = str(refused.value)
    assert "'product_usage', column 'count'" in message and ">= 0" in message and f"(row {row})" in message
    assert not (tmp_path / "db").exists() or not any((tmp_path / "db").iterdir())


@pytest.mark.slow
def test_parquet_usage_the_check_doubts_is_loaded_and_refused(tmp_path):
    usage = pd.read_csv(SAMPLE_DATA_DIR / "product_usage.csv", dtype={"customer_id": str, "month": str,
                                                                       "event": str, "count": "int64"})
    usage.loc[7, "month"] = "2025-13"
    folder = _parquet_folder(tmp_path / "data", usage)
    with pytest.raises(ContractError) as refused:
        build_report("2025-12", data=str(folder), out=tmp_path / "out", notebooks=["05_nps"], progress=False)
    message = str(refused.value)
    assert "'product_usage', column 'month'" in message and "YYYY-MM" in message and "(row 8)" in message


@pytest.mark.slow
def test_a_usage_account_missing_from_customers_is_refused_by_the_loader(tmp_path):
    """The engine checks the usage's own rows; that every account is a customer is checked against the
    customers as loaded, and a stray one sends the whole source to the loader, whose rule names it."""
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    sample = load_dataset()
    usage = sample.tables["product_usage"].copy()
    usage.loc[usage.index[3], "customer_id"] = "nobody"
    load_folder_into_database(replace(sample, tables={**sample.tables, "product_usage": usage}), url)
    with pytest.raises(ContractError) as refused:
        build_report("2025-12", data=url, out=tmp_path / "db", notebooks=["05_nps"], progress=False)
    assert "'product_usage', column 'customer_id'" in str(refused.value)


def test_a_kernel_reads_the_usage_sums_from_the_snapshot_only_when_it_asks(tmp_path):
    """The runner hands the kernels its model with the engagement figures computed: the sums per
    account-month (32k rows for the sample, 3.2M at 100 copies) stay in the mapped snapshot file
    unless a page asks for them, and then are the runner's, value for value."""
    from kpilib.engine.engagement import load_for_report
    from kpilib.report.manifest import input_tables
    from kpilib.report.model import KpiModel
    from kpilib.report.snapshot import _Mapped, load_snapshot, write_snapshot

    dataset = load_for_report(str(_parquet_folder(tmp_path / "data")))
    assert dataset.usage_sums is not None and len(dataset.usage_sums) > 10_000
    model = KpiModel(dataset, "2025-12")
    summary = model.engagement_summary
    write_snapshot(model, ("k",), tmp_path / "model.pickle", dataset)
    read_back, _ = load_snapshot(tmp_path / "model.pickle", ("k",))
    store = read_back.data.tables.given._store
    assert read_back.engagement_summary[1].tolist() == summary[1].tolist()
    assert read_back.has_rows("product_usage") and read_back.data.has("product_usage")
    header = input_tables(read_back.data, model.period, hashes=False)
    assert header.loc["product_usage"].to_dict() == input_tables(model.data, model.period, hashes=False) \
        .loc["product_usage"].to_dict()
    assert read_back.data.data_end == model.data.data_end
    assert not store._frames, "the usage sums were read from the snapshot"
    assert isinstance(read_back.data.__dict__["_usage_sums"], _Mapped)  # not pickled with the model either
    pd.testing.assert_frame_equal(read_back.data.usage_sums, model.data.usage_sums)  # asked: read
    assert store._frames


def test_integer_counts_are_weighted_in_double_precision_as_in_memory(tmp_path):
    """Integer counts (a Parquet int64 column) times a weight were computed in DuckDB's exact decimals
    and rounded once: 35 API calls made 0.35, where the in-memory sum is 0.01 * 35 = 0.35000000000000003.
    The engine now weights doubles, as numpy does, so every sum is the in-memory one to the bit."""
    from kpilib.engine.engagement import _parquet_engine, engine_usage_sums
    from kpilib.metrics.voice import engagement_scores, scores_of_usage_sums

    assert 0.01 * 35 != 0.35  # the case: a weight times a count that decimals round otherwise
    usage = pd.DataFrame({"customer_id": ["a", "b", "c", "c", "d"], "month": ["2025-01"] * 5,
                          "event": ["api_call", "api_call", "api_call", "login", "report_created"],
                          "count": [35, 41, 47, 2, 1]})
    folder = tmp_path / "data"
    folder.mkdir()
    usage.to_parquet(folder / "product_usage.parquet", index=False)
    engine = _parquet_engine(str(folder))
    try:
        sums = engine_usage_sums(engine)
    finally:
        engine.close()
    assert sums["x"].tolist() == [0.01 * 35, 0.01 * 41, 0.01 * 47 + 2.0, 3.0]
    loaded = usage.assign(month=pd.PeriodIndex(usage["month"], freq="M"), count=usage["count"].astype("Int64"))
    got = scores_of_usage_sums(sums)
    pd.testing.assert_frame_equal(got, engagement_scores(loaded), check_exact=True)


def test_usage_read_as_sums_is_neither_missing_nor_silently_empty(tmp_path):
    """Summed where it is stored, the usage is still there for a page's missing-table note, its rows
    are refused with a reason rather than returned as "no table", and usage dated after the period
    gets the same warning as loaded rows."""
    from kpilib import KpiError
    from kpilib.data.asof import default_period
    from kpilib.engine.engagement import load_for_report
    from kpilib.report.context import missing_tables_html

    usage = pd.read_csv(SAMPLE_DATA_DIR / "product_usage.csv", dtype={"customer_id": str, "month": str,
                                                                      "event": str, "count": "int64"})
    later = pd.DataFrame({"customer_id": [usage["customer_id"].iloc[0]] * 2, "month": ["2026-05", "2026-05"],
                          "event": ["login", "api_call"], "count": [3, 7]})
    folder = _parquet_folder(tmp_path / "data", pd.concat([usage, later], ignore_index=True))
    summed, loaded = load_for_report(str(folder)), load_dataset(str(folder))
    assert summed.usage_sums is not None and loaded.usage_sums is None
    assert summed.has("product_usage") and "product_usage" not in str(missing_tables_html(summed, ["product_usage"]))
    for ask in (summed.get, summed.require):
        with pytest.raises(KpiError, match="summed where it is stored"):
            ask("product_usage")
    assert default_period(summed) == default_period(loaded)
    assert any("'product_usage' has 2 row(s) dated after 2025-12-31 (latest 2026-05)" in w
               for w in default_period(summed)[1])
