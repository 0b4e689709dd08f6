from __future__ import annotations

import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # unit tests only; notebooks use the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Tests check what is computed, never how fast (benchmarks/ measures speed): no Hypothesis deadline,
# which a busy two-core machine misses (a 200 ms example took 360 ms beside a test run in parallel).
settings.register_profile("kit", deadline=None)
settings.load_profile("kit")

# A tiny, valid company: the base that contract tests break one rule at a time.
TINY: dict[str, list[dict[str, str]]] = {
    "customers": [
        {"customer_id": "c1", "name": "Acme", "segment": "SMB", "region": "NA",
         "acquisition_channel": "Organic Search", "created_at": "2024-01-10"},
        {"customer_id": "c2", "name": "Müller & Söhne", "segment": "Enterprise", "region": "EMEA",
         "acquisition_channel": "Events", "created_at": "2024-02-03"},
    ],
    "subscriptions": [
        {"subscription_id": "s1", "customer_id": "c1", "plan": "Starter", "start_date": "2024-01-15",
         "end_date": "", "amount": "100", "billing_interval": "month", "currency": "USD"},
        {"subscription_id": "s2", "customer_id": "c2", "plan": "Pro", "start_date": "2024-02-03",
         "end_date": "2025-02-03", "amount": "1200", "billing_interval": "year", "currency": "EUR"},
    ],
    "fx_rates": [
        {"currency": "USD", "rate_to_base": "1"},
        {"currency": "EUR", "rate_to_base": "1.1"},
    ],
    "leads": [
        {"lead_id": "l1", "created_at": "2024-01-02", "channel": "Organic Search", "owner": "Ana",
         "mql_at": "2024-01-03", "sql_at": "2024-01-05", "opportunity_at": "2024-01-06",
         "trial_started_at": "2024-01-06", "activated_at": "2024-01-08", "closed_at": "2024-01-14",
         "outcome": "won", "amount": "1200", "customer_id": "c1"},
        {"lead_id": "l2", "created_at": "2024-01-04", "channel": "Events", "owner": "Bo",
         "mql_at": "", "sql_at": "", "opportunity_at": "", "trial_started_at": "", "activated_at": "",
         "closed_at": "", "outcome": "", "amount": "", "customer_id": ""},
    ],
    "web_traffic": [
        {"date": "2024-01-01", "channel": "Organic Search", "sessions": "100", "unique_visitors": "80",
         "new_visitors": "50", "bounced_sessions": "40"},
    ],
    "marketing_spend": [
        {"month": "2024-01", "channel": "Organic Search", "category": "marketing", "amount": "500"},
    ],
    "sales_activities": [
        {"date": "2024-01-02", "owner": "Ana", "calls": "12", "demos_booked": "2", "demos_held": "1"},
    ],
    "survey_responses": [
        {"response_id": "r1", "survey": "nps", "respondent_id": "c1", "responded_at": "2024-03-01",
         "score": "9", "comment": "Great <b>tool</b> & \"fast\""},
        {"response_id": "r2", "survey": "ces", "respondent_id": "c2", "responded_at": "2024-03-02",
         "score": "6", "comment": ""},
    ],
    "product_usage": [
        {"customer_id": "c1", "month": "2024-02", "event": "login", "count": "20"},
    ],
    "financials": [
        {"month": "2024-01", "revenue": "1200", "cogs": "300", "operating_expenses": "700"},
    ],
}


def write_table(directory: Path, name: str, rows: list[dict[str, str]],
                columns: list[str] | None = None) -> Path:
    """Write rows as ``<name>.csv`` (header from the first row unless ``columns``)."""
    columns = columns or (list(rows[0]) if rows else [])
    path = directory / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A folder holding the valid tiny company, one CSV per table."""
    d = tmp_path / "tiny"
    d.mkdir()
    for name, rows in TINY.items():
        write_table(d, name, [dict(r) for r in rows])
    return d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251231)


#: The slowest test files, slowest first (measured on 2 cores, 2026-12-06). pytest-xdist's
#: ``--dist loadfile`` hands whole files to the two workers in collection order, so a slow file
#: collected last would run alone at the end; heaviest first, the workers finish together.
HEAVY_FIRST = ("test_faults.py", "test_database_report.py", "test_degenerate.py", "test_spark.py",
               "test_i18n_pack.py", "test_engine.py", "test_forecast_page.py", "test_report.py",
               "test_restatement.py", "test_packaging.py", "test_pack.py", "test_goals.py", "test_usage_in_place.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's own order is kept


#: Test files that start a local Spark (a JVM: about 10 s of CPU and 1 GB): one xdist worker runs them
#: all, so that one JVM serves them (the session-scoped ``spark`` fixture).
ONE_SPARK = ("test_spark.py", "test_engine.py", "test_database_report.py")


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (make test), with the :data:`ONE_SPARK` files as one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class OneSpark(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "spark" if scope.rsplit("/", 1)[-1] in ONE_SPARK else scope

    return OneSpark(config, log)


@pytest.fixture(scope="session", autouse=True)
def _kept_workers():
    """Packs built in this test process share their workers and warm kernels (kpilib's kept_workers),
    as a loop over segments or languages would; each case still starts with a clean slate. The fault
    cases run the CLI in subprocesses, where every pack starts and stops its own workers."""
    from kpilib.report.runner import kept_workers

    with kept_workers():
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test starts with matplotlib's settings as they were and leaves no figure: a test that runs
    a page in process applies the house style (titles on the left, ...), which must not reach the next."""
    with matplotlib.rc_context():
        yield
    plt.close("all")


def needs(reason: str) -> None:
    """Skip for ``reason``, except in CI (``CI`` set), where what is missing is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


#: The tests' Spark JVMs (the ``spark`` fixture's, and those a ``kpi report --data spark://local`` starts in
#: a test) live for a minute on a few thousand rows: the quick JIT alone and one garbage-collector thread
#: cost them about 40 % less CPU (104 s -> 66 s for test_spark and test_engine) and change no result.
os.environ.setdefault("PYSPARK_SUBMIT_ARGS",
                      '--driver-java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" pyspark-shell')


@pytest.fixture(scope="session")
def spark():
    """One local Spark per test process (a JVM start takes seconds); tests drop the views they make."""
    import shutil

    if shutil.which("java") is None:
        needs("no Java runtime for Spark (apt-get install default-jre-headless; .ci/run does)")
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[test]')")
    from kpilib.engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def drop_views(session) -> None:
    for table in session.catalog.listTables():
        if table.isTemporary:
            session.catalog.dropTempView(table.name)
