"""End to end: the pack built from a database equals the one built from the CSV folder.

PostgreSQL comes from KPI_TEST_POSTGRES_URL (.ci/run starts a server on loopback);
DuckDB runs in-process; Spark runs locally (pyspark, and the Java runtime .ci/run installs). No mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kpilib import build_report, load_dataset
from kpilib.data.databases import load_folder_into_database
from kpilib.paths import SAMPLE_DATA_DIR

NOTEBOOKS = ["00_overview"]

pytestmark = pytest.mark.slow  # whole packs, from a folder and from each database


@pytest.fixture(scope="module")
def csv_figures(tmp_path_factory):
    pack = build_report("2025-12", out=tmp_path_factory.mktemp("csv"), notebooks=NOTEBOOKS, progress=False)
    return json.loads((pack / "kpis.json").read_text(encoding="utf-8"))


def _report_from(url: str, out, goals: bool = True) -> dict:
    """Run the CLI as the monthly job would, with the URL on the command line (and the sample's goals
    file, which a database cannot hold)."""
    env = {k: v for k, v in os.environ.items() if k != "KPI_DATABASE_URL"}
    extra = ["--goals", str(SAMPLE_DATA_DIR / "goals.yaml")] if goals else []
    result = subprocess.run([sys.executable, "-m", "kpilib.cli", "report", "--period", "2025-12",
                             "--data", url, "--out", str(out), "--no-progress", "--notebooks", *NOTEBOOKS,
                             *extra],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "2025-12" / "kpis.json").read_text(encoding="utf-8"))


def _same_figures(got: dict, want: dict) -> None:
    assert got["kpis"] == want["kpis"]
    assert (got["period"], got["data_end"], got["base_currency"]) == (want["period"], want["data_end"], "USD")


def test_duckdb_pack_equals_csv_pack(csv_figures, tmp_path):
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    load_folder_into_database(load_dataset(), url)
    _same_figures(_report_from(url, tmp_path / "out"), csv_figures)


def test_spark_pack_equals_csv_pack(csv_figures, spark, tmp_path, capsys):
    """`kpi report --data "spark://local[2]?parquet=FOLDER"`, through the CLI's ``main`` in this process:
    the URL finds the test's running Spark (a Spark the URL starts itself is ``spark_session``'s, which
    the ``spark`` fixture uses), so the suite pays for one JVM."""
    from kpilib.cli import main
    from kpilib.data.spark import write_into_spark

    from conftest import drop_views

    folder = tmp_path / "parquet"
    write_into_spark(load_dataset(), spark, parquet=folder)
    try:
        code = main(["report", "--period", "2025-12", "--data", f"spark://local[2]?parquet={folder}",
                     "--out", str(tmp_path / "out"), "--no-progress", "--notebooks", *NOTEBOOKS,
                     "--goals", str(SAMPLE_DATA_DIR / "goals.yaml")])
    finally:
        drop_views(spark)  # the URL's views of the Parquet files, which the next Spark test must not see
    assert code == 0, capsys.readouterr().err
    _same_figures(json.loads((tmp_path / "out" / "2025-12" / "kpis.json").read_text(encoding="utf-8")), csv_figures)


def test_a_database_pack_without_a_goals_file_has_no_goals(csv_figures, tmp_path):
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    load_folder_into_database(load_dataset(), url)
    got = _report_from(url, tmp_path / "out", goals=False)
    with_goals = [k for k in csv_figures["kpis"] if k["goal"] is not None]
    assert with_goals, "the sample's goals file sets goals for 2025-12"
    assert all(k["goal"] is None and k["gap"] is None for k in got["kpis"])
    strip = ("goal", "gap", "goal_note")
    assert ([{f: v for f, v in k.items() if f not in strip} for k in got["kpis"]]
            == [{f: v for f, v in k.items() if f not in strip} for k in csv_figures["kpis"]])


def test_postgres_pack_equals_csv_pack_and_leaks_no_password(csv_figures, tmp_path):
    url = os.environ.get("KPI_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("KPI_TEST_POSTGRES_URL is unset in CI: .ci/run must start PostgreSQL")
        pytest.skip('KPI_TEST_POSTGRES_URL is not set; eval "$(bash .ci/postgres.sh)" to run it')
    load_folder_into_database(load_dataset(), url)
    got = _report_from(url, tmp_path / "out")
    _same_figures(got, csv_figures)
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert "***" in got["data_source"]
    for f in (tmp_path / "out").rglob("*"):
        if f.is_file():
            assert password not in f.read_text(encoding="utf-8", errors="replace"), f.name


def test_kpi_load_command(tmp_path):
    url = f"duckdb:///{tmp_path / 'k.duckdb'}"
    result = subprocess.run([sys.executable, "-m", "kpilib.cli", "load", "--to", url],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout and "10 tables" in result.stdout
    assert load_dataset(url).customers.equals(load_dataset().customers)

