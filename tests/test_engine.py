"""MRR movements computed inside the database (kpilib.engine) equal the in-memory path's, to the
micro-unit: on the sample company and on hand-built books, on DuckDB, on PostgreSQL and on a local
Apache Spark (pyspark in local mode; a Java runtime needed, which .ci/run installs)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kpilib import KpiError, KpiModel, load_dataset
from kpilib.data.databases import load_folder_into_database
from kpilib.data.spark import write_into_spark
from kpilib.engine import connect, engine_cohorts, engine_movements, engine_usage_sums
from kpilib.engine.acquisition import engine_acquisition
from kpilib.engine.bookings import engine_contracts
from kpilib.engine.breakdown import engine_breakdown
from kpilib.engine.engagement import checked_usage_sums
from kpilib.engine.lifetimes import engine_interval_counts, engine_lifetimes
from kpilib.engine.period import FIGURES, engine_period_figures, engine_retention_trend
from kpilib.metrics.cohorts import (
    interval_counts,
    interval_lifetimes,
    km_survival,
    lifetime_counts,
    logo_retention,
    revenue_retention,
)
from kpilib.metrics.mrr import COUNT_COLUMNS, MOVEMENT_COLUMNS, customer_mrr, movement_counts, mrr_movements
from kpilib.metrics.sbg import fit_sbg_by_interval
from kpilib.metrics.voice import engagement_scores, scores_of_usage_sums

from conftest import drop_views, needs

COLUMNS = MOVEMENT_COLUMNS[:-1] + COUNT_COLUMNS


def _in_memory(subscriptions, fx_rates, **kw) -> pd.DataFrame:
    money = mrr_movements(subscriptions, fx_rates, **kw)
    return pd.concat([money.drop(columns="customers"), movement_counts(subscriptions, fx_rates, **kw)], axis=1)[COLUMNS]


class Target:
    """An empty database or Spark catalog the test owns: it takes tables, then :func:`connect` opens it."""

    def __init__(self, url: str, schema: str | None = None, session=None):
        self.url, self.schema, self.session = url, schema, session

    def load(self, dataset) -> None:
        if self.session is None:
            load_folder_into_database(dataset, self.url, schema=self.schema)
        else:
            write_into_spark({name: dataset.tables[name] for name in ("customers", "subscriptions", "fx_rates",
                                                                       "product_usage") if name in dataset.tables},
                             self.session)

    def book(self, rows: list[tuple]) -> None:
        if self.session is None:
            _write_book(self.url, self.schema, rows)
        else:
            write_into_spark({"subscriptions": _book_frame(rows)}, self.session)

    def connect(self):
        """By URL, as a user connects (``spark://local[2]`` finds the test's running session)."""
        return connect(self.url, schema=self.schema)


@pytest.fixture(params=["duckdb", "postgresql", pytest.param("spark", marks=pytest.mark.slow)])
def database(request, tmp_path):
    """A :class:`Target` of each kind: DuckDB, PostgreSQL (a schema of its own), local Spark."""
    if request.param == "duckdb":
        yield Target(f"duckdb:///{tmp_path / 'engine.duckdb'}")
        return
    if request.param == "spark":
        session = request.getfixturevalue("spark")
        yield Target("spark://local[2]", session=session)
        drop_views(session)
        return
    url = os.environ.get("KPI_TEST_POSTGRES_URL")
    if not url:
        needs("KPI_TEST_POSTGRES_URL is not set; eval \"$(bash .ci/postgres.sh)\" to run PostgreSQL tests")
    schema = f"kpiengine_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    yield Target(url, schema)
    with engine.begin() as conn:
        conn.execute(sa.schema.DropSchema(schema, cascade=True))
    engine.dispose()


@pytest.fixture(scope="module")
def sample():
    return load_dataset()


def test_the_sample_company_s_movements_are_equal_to_the_micro_unit(database, sample):
    database.load(sample)
    engine = database.connect()
    try:
        got = engine_movements(engine)
        # the window given, as a report asks for it: history before it still counts
        windowed = engine_movements(engine, "2025-01", "2025-12")
    finally:
        engine.close()
    fx = sample.fx_rates
    assert fx is not None and fx["currency"].nunique() > 1, "the sample converts currencies"
    pd.testing.assert_frame_equal(got, _in_memory(sample.subscriptions, fx), check_exact=True)
    pd.testing.assert_frame_equal(windowed, _in_memory(sample.subscriptions, fx, start="2025-01", end="2025-12"),
                                  check_exact=True)
    assert windowed.loc["2025-01", "opening_mrr"] > 0


def _write_book(url: str, schema: str | None, rows: list[tuple]) -> None:
    metadata = sa.MetaData(schema=schema)
    table = sa.Table("subscriptions", metadata,
                     sa.Column("subscription_id", sa.Text), sa.Column("customer_id", sa.Text),
                     sa.Column("start_date", sa.Date), sa.Column("end_date", sa.Date),
                     sa.Column("amount", sa.Double), sa.Column("billing_interval", sa.Text),
                     sa.Column("currency", sa.Text))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(table.insert(), [dict(zip([c.name for c in table.columns], r)) for r in rows])
    finally:
        engine.dispose()


def _book_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["subscription_id", "customer_id", "start_date", "end_date", "amount",
                                        "billing_interval", "currency"])
    for c in ("start_date", "end_date"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


D = dt.date
# a: monthly, mid-month start, expands in March, churns (ends on the last day of April: exclusive)
# b: annual 1,200 -> 100 a month, from February; c: paid Jan-Feb, back in May (reactivation);
# d: free row only (never a customer); e: starts and ends within one month (never counts)
BOOK = [
    ("s1", "a", D(2025, 1, 15), D(2025, 3, 1), 100.0, "month", "USD"),
    ("s2", "a", D(2025, 3, 1), D(2025, 4, 30), 150.0, "month", "USD"),
    ("s3", "b", D(2025, 2, 1), None, 1200.0, "year", "USD"),
    ("s4", "c", D(2025, 1, 1), D(2025, 3, 1), 90.0, "quarter", "USD"),
    ("s5", "c", D(2025, 5, 10), None, 50.0, "month", "USD"),
    ("s6", "d", D(2025, 1, 1), None, 0.0, "month", "USD"),
    ("s7", "e", D(2025, 2, 3), D(2025, 2, 20), 70.0, "month", "USD"),
]


def test_a_hand_computed_book(database):
    database.book(BOOK)
    engine = database.connect()
    try:
        got = engine_movements(engine)
    finally:
        engine.close()
    pd.testing.assert_frame_equal(got, _in_memory(_book_frame(BOOK), None), check_exact=True)
    # by hand: Jan a 100 + c 30 = 130 (2 new); Feb b 100 new -> 230; Mar a +50, c churns -30 -> 250;
    # Apr a churns (ends on 30 April) -150 -> 100; May c reactivates +50 -> 150
    assert got["closing_mrr"].loc["2025-01":"2025-05"].tolist() == [130.0, 230.0, 250.0, 100.0, 150.0]
    assert got.loc["2025-03", ["expansion", "churn"]].tolist() == [50.0, -30.0]
    assert got.loc["2025-05", "reactivation"] == 50.0 and got.loc["2025-05", "new"] == 0.0
    assert got["new_customers"].sum() == 3 and got.loc["2025-05", "customers"] == 2


def test_what_is_not_pushed_down_yet_says_so(database, sample):
    database.book(BOOK)
    engine = database.connect()
    try:
        with pytest.raises(KpiError, match="breakdowns"):
            engine_movements(engine, by="plan")
    finally:
        engine.close()


def test_spark_without_pyspark_says_how_to_install_it(monkeypatch):
    import sys

    for name in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: "not installed"
    with pytest.raises(KpiError, match=r"pip install 'kpilib\[engine\]'.*Java runtime"):
        connect("spark://local[2]")


def test_cohort_retention_of_the_sample_equals_the_in_memory_matrices(database, sample):
    """Counts exact (logo retention is paying / cohort size), MRR ratios to 1e-12 (integer micro-unit
    sums in the engine, float sums in memory)."""
    database.load(sample)
    engine = database.connect()
    try:
        for end in (None, "2025-06"):
            wide = customer_mrr(sample.subscriptions, sample.fx_rates, end=end)
            for kind, in_memory in (("logo", logo_retention), ("revenue", revenue_retention)):
                got = engine_cohorts(engine, end, kind=kind)
                pd.testing.assert_frame_equal(got, in_memory(wide), check_exact=False, rtol=1e-12, obj=f"{kind} {end}")
        assert engine_cohorts(engine, kind="logo", max_age=12).shape[1] == 14  # customers, ages 0-12
    finally:
        engine.close()


def test_cohorts_of_the_hand_computed_book(database):
    database.book(BOOK)
    engine = database.connect()
    try:
        logo, revenue = engine_cohorts(engine, kind="logo"), engine_cohorts(engine, kind="revenue")
    finally:
        engine.close()
    # January: a and c (c stops in March, back in May; a ends on 30 April); February: b (annual)
    nan = float("nan")
    assert logo.index.astype(str).tolist() == ["2025-01", "2025-02"]
    assert logo["customers"].tolist() == [2, 1]
    assert logo.columns.tolist() == revenue.columns.tolist() == ["customers", 0, 1, 2, 3, 4]
    np.testing.assert_array_equal(logo.drop(columns="customers").to_numpy(dtype=float),
                                  [[1.0, 1.0, 0.5, 0.0, 0.5], [1.0, 1.0, 1.0, 1.0, nan]])
    # January's MRR: 130, 130, 150 (a expands, c stops), 0, 50 (c is back)
    np.testing.assert_allclose(revenue.drop(columns="customers").to_numpy(dtype=float),
                               [[1.0, 1.0, 150 / 130, 0.0, 50 / 130], [1.0, 1.0, 1.0, 1.0, nan]], rtol=1e-15)


# --- the period's figures, as a pack of that period knows them ------------------------------------


#: Periods and segments whose figures are compared: a month, a quarter and a year; the data's last month
#: and earlier periods (the cut leaves later rows out, the late account among them); the company and a
#: segment. Each pack costs about 20 queries, mostly Ibis compiling them (0.1 s each): the fast tier
#: compares the first pack, the slow tier the others.
PACKS = [("2025-12", None), ("2025-Q2", None), ("2024", "Enterprise")]


def _with_a_late_account(sample):
    """The sample plus an account created on 20 July 2025 whose subscription started on 1 February
    (a CRM record created late): a pack before July does not know it or its MRR."""
    customers = pd.concat([sample.customers, pd.DataFrame({
        "customer_id": ["LATE1"], "name": ["Late Record Ltd"], "segment": ["SMB"], "region": ["EMEA"],
        "acquisition_channel": ["Referral"], "created_at": [pd.Timestamp("2025-07-20")]}).astype(
        sample.customers.dtypes.to_dict())], ignore_index=True)
    late = sample.subscriptions.iloc[:1].copy()
    late[["subscription_id", "customer_id", "plan"]] = ["LATE-S1", "LATE1", "Growth"]
    late[["start_date", "end_date"]] = [pd.Timestamp("2025-02-01"), pd.NaT]
    late[["amount", "billing_interval", "currency"]] = [500.0, "month", "USD"]
    subscriptions = pd.concat([sample.subscriptions, late], ignore_index=True)
    # the tables these figures read (the others would only make loading the engines slower)
    return replace(sample, tables={"customers": customers, "subscriptions": subscriptions,
                                   "fx_rates": sample.tables["fx_rates"]})


@pytest.fixture(scope="module")
def late_packs(sample):
    """The data with the late account, and the models of :data:`PACKS` on it (they cut in memory)."""
    data = _with_a_late_account(sample)
    return data, {pack: KpiModel(data, pack[0], segment=pack[1]) for pack in PACKS}


def _by_channel(model: KpiModel) -> pd.DataFrame:
    """What :func:`engine_acquisition` returns, from the model: its new customers and their MRR at the
    period's end (``channel_return``'s), and the MRR then of every customer who ever paid
    (``marketing_share``'s; a channel whose customers never paid is not listed)."""
    wide, last, new = model.wide, model.period.last, model.new_customers
    channel = model.data.customers.set_index("customer_id")["acquisition_channel"]
    wide = wide[(wide > 0).any(axis=1)]
    now = wide[last]
    out = pd.DataFrame({"new_customers": new.groupby("channel").size(),
                        "new_mrr": now.reindex(new["customer_id"]).groupby(new["channel"].to_numpy()).sum(),
                        "mrr": now.groupby(channel.reindex(wide.index).to_numpy()).sum()})
    out = out.fillna({"new_customers": 0, "new_mrr": 0.0}).astype({"new_customers": "int64"})
    return out.set_axis(out.index.astype("str").rename("channel"), axis=0).sort_index()


@pytest.mark.parametrize("packs", [PACKS[:1], pytest.param(PACKS[1:], marks=pytest.mark.slow)],
                         ids=["latest", "earlier"])
def test_the_period_figures_in_the_engine_are_the_pack_s(database, sample, late_packs, packs):
    """Customer churn, NRR and GRR of a pack (:func:`engine_period_figures`), and its movements and cohort
    matrices with the cut made in the engine, equal the model's, which cuts in memory: counts exact,
    money and ratios to 1e-12. The late account is in the data of every pack, and known only to those
    ending after 20 July 2025."""
    data, models = late_packs
    database.load(data)
    with database.connect() as engine:
        for period, segment in packs:
            model = models[period, segment]
            p, label = model.period, f"{period} {segment}"
            want = pd.concat([model.customer_churn, model.retention])
            got = engine_period_figures(engine, period, segment=segment)
            assert list(got.index) == list(FIGURES)
            pd.testing.assert_series_equal(got, want[got.index], check_exact=False, rtol=1e-12, obj=label)
            pd.testing.assert_frame_equal(engine_retention_trend(engine, period, segment=segment),
                                          model.retention_trend(24), check_exact=False, rtol=1e-12, obj=label)
            moves = engine_movements(engine, p.first - 36, p.last, as_of=p.end_date, segment=segment)
            pd.testing.assert_frame_equal(moves, model.monthly[moves.columns], check_exact=False, rtol=1e-12,
                                          obj=label)
            kind = "revenue" if segment else "logo"  # each kind on some packs (one expression, two ratios)
            matrix = engine_cohorts(engine, p.last, kind=kind, max_age=12, as_of=p.end_date, segment=segment)
            pd.testing.assert_frame_equal(matrix, model.cohort_matrix(kind, cohorts=10_000), check_exact=False,
                                          rtol=1e-12, obj=f"{kind} {label}")
            # per segment and cohort: what the churn page's retention by segment weighs
            by_segment = engine_cohorts(engine, p.last, max_age=12, as_of=p.end_date, segment=segment, by="segment")
            pd.testing.assert_frame_equal(by_segment, model.cohort_matrix("logo", max_age=12, by="segment"),
                                          check_exact=False, rtol=1e-12, obj=f"logo by segment {label}")
            # first spells counted in the engine, and the Kaplan-Meier curves fitted to the counts
            by = None if segment else "segment"
            counts = engine_lifetimes(engine, p.last, by=by, as_of=p.end_date, segment=segment)
            group = data.customers.set_index("customer_id")["segment"] if by else None
            pd.testing.assert_frame_equal(counts, lifetime_counts(model.lifetimes, by=group), obj=f"lifetimes {label}")
            pd.testing.assert_frame_equal(km_survival(counts, by=by), model.survival(by), check_exact=False,
                                          rtol=1e-12, obj=f"survival {label}")
            # the same spells in renewal periods per billing interval, and the sBG per interval fitted to them
            periods = engine_interval_counts(engine, p.last, as_of=p.end_date, segment=segment)
            in_memory = interval_counts(interval_lifetimes(model.wide, model.data.subscriptions))
            pd.testing.assert_frame_equal(periods, in_memory, check_exact=False, rtol=1e-12, obj=f"periods {label}")
            fit = fit_sbg_by_interval(periods, gross_margin=model.gross_margin[0], on_failure="flag")
            pd.testing.assert_frame_equal(fit.summary, model.interval_churn.summary, check_exact=False, rtol=1e-9,
                                          obj=f"sBG {label}")
            # MRR and the period's movements per group: money to the micro-unit (net new MRR is a difference
            # of sums, exact in the engine's micro-units, within float rounding in memory)
            for by in ("region", "acquisition_channel") if segment else ("segment",):
                got_by, want_by = engine_breakdown(engine, period, by, segment=segment), model.breakdown(by)
                pd.testing.assert_frame_equal(got_by.drop(columns="net_new_mrr"), want_by.drop(columns="net_new_mrr"),
                                              check_exact=False, rtol=1e-12, obj=f"by {by} {label}")
                pd.testing.assert_series_equal(got_by["net_new_mrr"], want_by["net_new_mrr"], check_exact=False,
                                               rtol=0, atol=1e-6, obj=f"net new MRR by {by} {label}")
            # bookings: contracts signed, renewals, plan changes, TCV and ACV
            pd.testing.assert_series_equal(engine_contracts(engine, period, segment=segment), model.contracts,
                                           check_exact=False, rtol=1e-12, obj=f"bookings {label}")
            # new customers and MRR per acquisition channel: CAC's denominator, the return per channel,
            # the marketing share of MRR, as the model's families read them from its grid
            pd.testing.assert_frame_equal(engine_acquisition(engine, period, segment=segment), _by_channel(model),
                                          check_exact=False, rtol=1e-12, obj=f"channels {label}")
        # by hand: the late account pays 500 a month from February 2025, so December's pack counts it
        # among the customers paying at the start; June's does not know it
        june, december = (engine_period_figures(engine, m) for m in ("2025-06", "2025-12"))
        without = engine_period_figures(engine, "2025-12", segment="Enterprise")
    assert december["starting_customers"] == KpiModel(sample, "2025-12").customer_churn["starting_customers"] + 1
    assert june["starting_customers"] == KpiModel(sample, "2025-06").customer_churn["starting_customers"]
    assert without["starting_customers"] == KpiModel(sample, "2025-12", segment="Enterprise") \
        .customer_churn["starting_customers"]


def test_first_spells_of_the_hand_computed_book(database):
    database.book(BOOK)
    with database.connect() as engine:
        counts, periods = engine_lifetimes(engine), engine_interval_counts(engine)
    # the book ends in May; a: January to March (ends on 30 April), churned after 3 months; c: January and
    # February, churned after 2 (its return in May is a second spell); b: annual from February, still
    # paying in May: 4 months, censored
    assert counts.assign(cohort=counts["cohort"].astype(str)).to_dict("records") == [
        {"cohort": "2025-01", "duration": 2, "churned": True, "customers": 1},
        {"cohort": "2025-01", "duration": 3, "churned": True, "customers": 1},
        {"cohort": "2025-02", "duration": 4, "churned": False, "customers": 1}]
    # in renewal periods: a monthly, 3 months; c quarterly (its first row), 2 months: 1 quarter; b annual,
    # censored in its first year; each one's MRR in its cohort month: 100, 30 and 100
    assert periods.to_dict("records") == [
        {"billing_interval": "month", "periods": 3, "churned": True, "customers": 1, "first_mrr": 100.0},
        {"billing_interval": "quarter", "periods": 1, "churned": True, "customers": 1, "first_mrr": 30.0},
        {"billing_interval": "year", "periods": 1, "churned": False, "customers": 1, "first_mrr": 100.0}]
    km = km_survival(counts).set_index("month")
    assert km["survival"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 1 / 3])  # months 0, 2, 3, 4
    assert km["at_risk"].tolist() == [3, 3, 2, 1]


def test_a_cut_without_customers_in_the_engine_says_so(database):
    database.book(BOOK)
    with database.connect() as engine:
        with pytest.raises(KpiError, match="no customers table"):
            engine_period_figures(engine, "2025-03")
        with pytest.raises(KpiError, match="no customers table"):
            engine_breakdown(engine, "2025-03", "segment")
        with pytest.raises(KpiError, match="by segment, region, acquisition_channel only, not 'plan'"):
            engine_breakdown(engine, "2025-03", "plan")
        with pytest.raises(KpiError, match="has no customers"):
            engine_cohorts(engine, by="segment")
        # without a cut, the book as stored: March starts with a, b and c; c stops in March
        got = engine_movements(engine, "2025-03", "2025-03")
    assert got.loc["2025-03", "churned_customers"] == 1


def _duckdb_tables(path, customers: list[tuple], subscriptions: list[tuple], *, dates: str = "DATE") -> str:
    """A DuckDB file of customers and subscriptions whose date columns are of type ``dates``; its URL."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE customers (customer_id VARCHAR, name VARCHAR, segment VARCHAR, region VARCHAR, "
                    f"acquisition_channel VARCHAR, created_at {dates})")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", customers)
        con.execute("CREATE TABLE subscriptions (subscription_id VARCHAR, customer_id VARCHAR, plan VARCHAR, "
                    f"start_date {dates}, end_date {dates}, amount DOUBLE, billing_interval VARCHAR, currency VARCHAR)")
        con.executemany("INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", subscriptions)
    finally:
        con.close()
    return f"duckdb:///{path}"


def test_dates_stored_with_a_time_of_day_are_cut_by_their_day(tmp_path):
    """The loader reads a timestamp as its day; the engine's cut and plan changes do too. C1 pays 100 on
    Basic, which ends at midnight on 1 June, then Pro from 09:00 that day (a plan change, not a new
    contract) to 10:00 on 30 June: as days, Pro ends on June's last day, so C1 pays nothing at June's
    month end and June loses May's 100. C2 is created and starts paying 10 at 10:00 on 30 June: June's
    pack knows it (as the engine's cut compared with midnight, it did not)."""
    url = _duckdb_tables(tmp_path / "times.duckdb", [
        ("C1", "A", "SMB", "NA", "Referral", "2024-01-01 00:00"),
        ("C2", "B", "SMB", "NA", "Referral", "2024-06-30 09:00")], [
        ("S1", "C1", "Basic", "2024-01-01 00:00", "2024-06-01 00:00", 100.0, "month", "USD"),
        ("S2", "C1", "Pro", "2024-06-01 09:00", "2024-06-30 10:00", 200.0, "month", "USD"),
        ("S3", "C2", "Pro", "2024-06-30 10:00", None, 10.0, "month", "USD")], dates="TIMESTAMP")
    model = KpiModel(load_dataset(url), "2024-06")
    with connect(url) as engine:
        moves = engine_movements(engine, "2024-06", "2024-06", as_of=model.period.end_date).loc["2024-06"]
        figures = engine_period_figures(engine, "2024-06")
        bookings = engine_contracts(engine, "2024-06")
    assert moves[["closing_mrr", "new", "churn", "expansion"]].tolist() == [10.0, 10.0, -100.0, 0.0]
    assert figures[["starting_customers", "lost_customers"]].tolist() == [1.0, 1.0]
    assert bookings[["contracts", "plan_changes", "tcv"]].tolist() == [1.0, 1.0, 120.0]  # C2: 10 x 12 months
    pd.testing.assert_series_equal(moves, model.monthly.loc["2024-06", moves.index], check_exact=False, rtol=1e-12)
    pd.testing.assert_series_equal(figures, pd.concat([model.customer_churn, model.retention])[figures.index])
    pd.testing.assert_series_equal(bookings, model.contracts)


def test_dates_stored_with_a_time_zone_are_refused(tmp_path):
    """23:30 on 30 June in New York is 1 July in UTC, the loader's day: the engine, taking days in its
    session's zone, could put the start in another month than the pack does. It refuses, saying why."""
    url = _duckdb_tables(tmp_path / "zoned.duckdb", [("C1", "A", "SMB", "NA", "Referral", "2024-01-01 00:00+00")], [
        ("S1", "C1", "Pro", "2024-06-30 23:30-04", None, 100.0, "month", "USD")], dates="TIMESTAMPTZ")
    assert str(load_dataset(url).subscriptions["start_date"].iloc[0].date()) == "2024-07-01"
    with connect(url) as engine, pytest.raises(KpiError, match=r"subscriptions\.start_date is stored with a time zone"):
        engine_period_figures(engine, "2024-07")


def test_ids_the_loader_would_trim_are_refused_not_matched(tmp_path):
    """"C1 " is C1 once loaded (the loader trims text); an engine compares the stored bytes. Rather than
    count two customers where the pack counts one, the engine's steps refuse, saying why."""
    url = _duckdb_tables(tmp_path / "padded.duckdb", [("C1", "A", "SMB", "NA", "Referral", "2024-01-01")], [
        ("S1", "C1 ", "Pro", "2024-01-01", None, 100.0, "month", "USD"),
        ("S2", "C1", "Pro", "2024-03-01", None, 50.0, "month", "USD")])
    assert load_dataset(url).subscriptions["customer_id"].tolist() == ["C1", "C1"]
    with connect(url) as engine:
        with pytest.raises(KpiError, match=r"subscriptions\.customer_id holds values with blanks around them"):
            engine_period_figures(engine, "2024-06")
        with pytest.raises(KpiError, match="blanks around them"):
            engine_movements(engine)


def test_a_segment_is_read_as_the_model_reads_it(tmp_path):
    url = _duckdb_tables(tmp_path / "segments.duckdb", [
        ("C1", "A", "SMB", "NA", "Referral", "2024-01-01"),
        ("C2", "B", "Enterprise", "NA", "Referral", "2024-01-01")], [
        ("S1", "C1", "Pro", "2024-01-01", None, 100.0, "month", "USD"),
        ("S2", "C2", "Pro", "2024-01-01", None, 50.0, "month", "USD")])
    with connect(url) as engine:
        company = engine_period_figures(engine, "2024-06")
        for whole in ("all", ""):  # the whole company, as KpiModel(segment="all") reads it
            pd.testing.assert_series_equal(engine_period_figures(engine, "2024-06", segment=whole), company)
        assert engine_period_figures(engine, "2024-06", segment="SMB")["cohort_customers"] == 0.0  # no year yet
        assert engine_period_figures(engine, "2024-06", segment="SMB")["starting_customers"] == 1.0
        with pytest.raises(KpiError, match="no accounts with segment = 'Nope'; known values: Enterprise, SMB"):
            engine_period_figures(engine, "2024-06", segment="Nope")
    assert company["starting_customers"] == 2.0


# --- engagement ---------------------------------------------------------------------------------


def _write_frames(database: Target, frames: dict[str, pd.DataFrame]) -> None:
    """Plain frames as tables of the target (raw tables too, which the contract writers do not take)."""
    if database.session is not None:
        for name, frame in frames.items():
            database.session.createDataFrame(frame).createOrReplaceTempView(name)
        return
    engine = sa.create_engine(database.url)
    try:
        for name, frame in frames.items():
            with engine.begin() as conn:  # replaced (pandas' if_exists="replace" reflects, which duckdb_engine fails)
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {database.schema + '.' if database.schema else ''}{name}"))
            frame.to_sql(name, engine, schema=database.schema, index=False)
    finally:
        engine.dispose()


def _checked_sums(database) -> pd.DataFrame:
    """The usage's sums per account-month from ``database``, whose check must find it contract-valid."""
    engine = database.connect()
    try:
        sums = checked_usage_sums(engine)
        assert sums is not None
        pd.testing.assert_frame_equal(sums, engine_usage_sums(engine), check_exact=True)
        return sums
    finally:
        engine.close()


def test_the_sample_s_usage_sums_give_the_in_memory_figures(database, sample):
    """The usage summed per account-month in the engine ranks to the in-memory scores exactly (every
    score and raw value to the bit), and the model's engagement figures from those sums, cut at three
    ends and for a segment, are the ones the loaded usage gives: the usage (111k rows here, 11M at 100
    copies) never leaves the engine."""
    database.load(sample)
    sums = _checked_sums(database)
    usage = sample.tables["product_usage"]
    got = scores_of_usage_sums(sums)
    pd.testing.assert_frame_equal(got, engagement_scores(usage), check_exact=True)
    assert sums["rows"].sum() == len(usage) and len(sums) == len(got) > 30_000
    summed = replace(sample, tables={k: v for k, v in sample.tables.items() if k != "product_usage"}, usage_sums=sums)
    for end, segment in (("2025-12", None), ("2024-06", None), ("2025-12", "Enterprise")):
        a = KpiModel(summed.filter(segment=segment), end, segment=segment).engagement_summary
        b = KpiModel(sample.filter(segment=segment), end, segment=segment).engagement_summary
        assert a[0] == b[0] and a[3] == b[3] == 3
        pd.testing.assert_series_equal(a[1], b[1], check_exact=True)
        pd.testing.assert_frame_equal(a[2], b[2], check_exact=True)
        assert a[2]["account_months"].sum() > 1000


def _events() -> pd.DataFrame:
    ts = pd.Timestamp
    rows = [  # January: d 0 (no weighted event) < c 1.0 (100 API calls) < a 2 = b 2 < g 5
        ("a", ts("2025-01-03 09:00"), "login"), ("a", ts("2025-01-20 10:00"), "login"),
        ("b", ts("2025-01-05"), "login"), ("b", ts("2025-01-06"), "dashboard_viewed"),
        *[("c", ts("2025-01-07") + pd.Timedelta(minutes=i), "api_call") for i in range(100)],
        *[("g", ts("2025-01-08") + pd.Timedelta(hours=i), "login") for i in range(5)],
        ("d", ts("2025-01-09"), "exported_csv"), ("d", ts("2025-01-09"), "exported_csv"),
        ("f", ts("2025-01-10"), "login"),  # f is created in August: unknown at June's end
        # February: a 3 = b 3; March: b 1 (and an event without a name) < a 5
        ("a", ts("2025-02-11"), "report_created"), *[("b", ts("2025-02-12"), "login")] * 3,
        ("a", ts("2025-03-13"), "user_invited"), ("b", ts("2025-03-14"), "login"), ("b", ts("2025-03-15"), None),
        ("c", ts("2025-05-16"), "login"),
        # June, the latest month: g 1 < b 2; July is after the end
        ("b", ts("2025-06-17"), "login"), ("b", ts("2025-06-30 23:59"), "login"), ("g", ts("2025-06-18"), "login"),
        ("b", ts("2025-07-01"), "login"),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "event"])


def test_raw_events_summed_by_hand(database):
    """Raw product_events aggregated into monthly usage in the engine, then summed per account-month:
    weights 1 (login, dashboard_viewed), 3 (report_created), 5 (user_invited), 0.01 (api_call), 0 for
    any other event, and an event without a name counted as a row and weighing nothing."""
    _write_frames(database, {"product_events": _events()})
    engine = database.connect()
    try:
        sums = engine_usage_sums(engine)
    finally:
        engine.close()
    got = {(c, str(m)): (x, n) for c, m, x, n in sums.itertuples(index=False)}
    assert got == {
        ("a", "2025-01"): (2.0, 1), ("a", "2025-02"): (3.0, 1), ("a", "2025-03"): (5.0, 1),
        ("b", "2025-01"): (2.0, 2), ("b", "2025-02"): (3.0, 1), ("b", "2025-03"): (1.0, 2),
        ("b", "2025-06"): (2.0, 1), ("b", "2025-07"): (1.0, 1),
        ("c", "2025-01"): (1.0, 1), ("c", "2025-05"): (1.0, 1),
        ("d", "2025-01"): (0.0, 1), ("f", "2025-01"): (1.0, 1), ("g", "2025-01"): (5.0, 1), ("g", "2025-06"): (1.0, 1),
    }
    assert list(sums["customer_id"]) == sorted(sums["customer_id"])  # in (account, month) order


def test_usage_the_loader_would_refuse_or_trim_is_loaded_as_usual(database):
    """``checked_usage_sums`` says no (the runner then loads and validates the table, whose error names
    rule and rows) for every kind of row the contract refuses, and for values the loader would change."""
    good = pd.DataFrame({"customer_id": ["a", "a", "b"], "month": ["2025-01", "2025-02", "2025-02"],
                         "event": ["login"] * 3, "count": [3, 1, 2]})
    bad = {
        "a negative count": good.assign(count=[3, -1, 2]),
        "a count that is not whole": good.assign(count=[3, 1.5, 2]),
        "a missing count": good.assign(count=[3, None, 2]),
        "a month that is not YYYY-MM": good.assign(month=["2025-01", "2025-13", "2025-02"]),
        "a month in another form": good.assign(month=["2025-01", "2025/02", "2025-02"]),
        "a count above the contract's maximum": good.assign(count=[3, 2e12, 2]),
        "an event with a non-breaking space (stripped by the loader)": good.assign(event=["login", "login\xa0", "b"]),
        "a year the loader cannot read": good.assign(month=["2025-01", "0000-02", "2025-02"]),
        "an id with a blank around it": good.assign(customer_id=["a", "a ", "b"]),
        "an empty event": good.assign(event=["login", "", "login"]),
        "a key twice": good.assign(month=["2025-02", "2025-02", "2025-02"]),
        "a key twice, its event not weighted": good.assign(month=["2025-02", "2025-02", "2025-02"],
                                                           event=["exported_csv", "exported_csv", "login"]),
        "a key twice, its event with a backslash": good.assign(month=["2025-02", "2025-02", "2025-02"],
                                                               event=["a\\b", "a\\b", "login"]),
        # more event names than are counted one by one beside the sums: the key is checked by DISTINCT
        "a key twice among 70 events": pd.DataFrame({
            "customer_id": "a", "month": "2025-01", "event": [f"e{i}" for i in range(70)] + ["e3"], "count": 1}),
        # Java's and ICU's "$" matched before a final line break (Spark took 'login\n' as plain text)
        "an event ending in a line break (stripped by the loader)": good.assign(event=["login", "login\n", "login"]),
        "a month ending in a line break": good.assign(month=["2025-01", "2025-02\n", "2025-02"]),
        "a month stored as a date that is not a first day": good.assign(
            month=pd.to_datetime(["2025-01-01", "2025-02-14", "2025-02-01"])),
    }
    as_dates = good.assign(month=pd.to_datetime(good["month"]))  # months stored as first days: valid too
    valid = [good, as_dates, good.assign(event=["a\\b", "a\\c", "a\\b"]),  # the same event, two accounts
             pd.DataFrame({"customer_id": "a", "month": "2025-01", "event": [f"e{i}" for i in range(70)], "count": 1})]
    for case, usage in [*(("valid", v) for v in valid), *bad.items()]:
        _write_frames(database, {"product_usage": usage})
        engine = database.connect()
        try:
            assert (checked_usage_sums(engine) is not None) is (case == "valid"), case
        finally:
            engine.close()


def test_a_collation_that_ignores_case_is_loaded_as_usual(tmp_path):
    """A column collation that ignores case (DuckDB's NOCASE; MySQL's defaults) would count 'LOGIN' as
    the weighted 'login' and group accounts 'C1' and 'c1' as one, where the loader keeps them apart:
    the usage is then loaded, not summed in the engine."""
    import duckdb

    path = tmp_path / "nocase.duckdb"
    cases = {
        "events": ("event", [("C1", "2025-01", "LOGIN", 3), ("C1", "2025-02", "login", 1)]),
        # DISTINCT returns one spelling of the two: 'login' here, which alone compares as Python does
        "events, the weighted one first": ("event", [("C1", "2025-01", "login", 1), ("C2", "2025-01", "LOGIN", 3)]),
        "ids": ("customer_id", [("C1", "2025-01", "login", 3), ("c1", "2025-01", "login", 1)]),
        "ids and one spelled as an escape": ("customer_id", [("A", "2025-01", "login", 3), ("a", "2025-01", "login", 1),
                                                             ("\\x41", "2025-01", "login", 2)]),
    }
    for case, (column, rows) in cases.items():
        con = duckdb.connect(str(path))
        con.execute("DROP TABLE IF EXISTS product_usage")
        types = {c: "VARCHAR" for c in ("customer_id", "month", "event")}
        types[column] = "VARCHAR COLLATE NOCASE"
        con.execute(f"CREATE TABLE product_usage (customer_id {types['customer_id']}, month {types['month']}, "
                    f"event {types['event']}, count BIGINT)")
        con.executemany("INSERT INTO product_usage VALUES (?, ?, ?, ?)", rows)
        con.close()
        engine = connect(f"duckdb:///{path}")
        try:
            assert checked_usage_sums(engine) is None, case
        finally:
            engine.close()
    con = duckdb.connect(str(path))  # the same rows without the collation: summed in the engine
    con.execute("CREATE OR REPLACE TABLE product_usage (customer_id VARCHAR, month VARCHAR, event VARCHAR, "
                "count BIGINT)")
    con.executemany("INSERT INTO product_usage VALUES (?, ?, ?, ?)", rows)
    con.close()
    engine = connect(f"duckdb:///{path}")
    try:
        sums = checked_usage_sums(engine)
        assert sums is not None and sums["customer_id"].tolist() == ["A", "\\x41", "a"]
    finally:
        engine.close()


def test_ids_with_backslashes_are_summed_in_the_engine(database):
    """A backslash is printable text: the byte-for-byte comparison must not read it as an escape
    (DuckDB's cast to BLOB did, and refused the usage)."""
    usage = pd.DataFrame({"customer_id": ["C\\1", "C\\x41", "A"], "month": ["2025-01"] * 3,
                          "event": ["login"] * 3, "count": [3, 1, 2]})
    _write_frames(database, {"product_usage": usage})
    sums = _checked_sums(database)
    assert dict(zip(sums["customer_id"], sums["x"], strict=True)) == {"C\\1": 3.0, "C\\x41": 1.0, "A": 2.0}
