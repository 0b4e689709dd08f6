"""Reading the contract from real databases: DuckDB (a temporary file) and PostgreSQL.

PostgreSQL tests need ``KPI_TEST_POSTGRES_URL`` (``eval "$(bash .ci/postgres.sh)"``
sets it); each test works in its own schema, dropped afterwards. Without the
variable they are skipped, unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from kpilib import TABLES, ContractError, ContractWarning, KpiError, load_dataset
from kpilib.data.databases import (
    database_url_from_env,
    is_database_url,
    load_database,
    load_folder_into_database,
    mask_url,
)


def _postgres_url() -> str:
    url = os.environ.get("KPI_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but KPI_TEST_POSTGRES_URL is not: run eval \"$(bash .ci/postgres.sh)\" first")
        pytest.skip("KPI_TEST_POSTGRES_URL is not set; eval \"$(bash .ci/postgres.sh)\" to run PostgreSQL tests")
    return url


@dataclass
class Db:
    """A database under test: its URL, the schema the test owns, and small helpers."""

    url: str
    schema: str | None

    def run(self, *statements: sa.Executable) -> None:
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(statement)
        finally:
            engine.dispose()

    def create(self, name: str, columns: dict[str, sa.types.TypeEngine], rows: list[dict]) -> None:
        metadata = sa.MetaData(schema=self.schema)
        table = sa.Table(name, metadata, *(sa.Column(c, t) for c, t in columns.items()))
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                metadata.create_all(conn)
                if rows:
                    conn.execute(table.insert(), rows)
        finally:
            engine.dispose()

    def write(self, dataset, **kw) -> dict[str, int]:
        return load_folder_into_database(dataset, self.url, schema=self.schema, **kw)

    def load(self, **kw):
        return load_database(self.url, schema=self.schema, **kw)


def _duckdb(tmp_path: Path) -> Db:
    return Db(f"duckdb:///{tmp_path / 'kpi.duckdb'}", None)


@pytest.fixture
def duck(tmp_path: Path) -> Db:
    return _duckdb(tmp_path)


@pytest.fixture
def pg():
    url = _postgres_url()
    db = Db(url, f"kpitest_{uuid.uuid4().hex[:12]}")
    db.run(sa.schema.CreateSchema(db.schema))
    yield db
    db.run(sa.schema.DropSchema(db.schema, cascade=True))


@pytest.fixture(params=["duckdb", "postgresql"])
def db(request, tmp_path: Path):
    if request.param == "duckdb":
        yield _duckdb(tmp_path)
    else:
        yield request.getfixturevalue("pg")


@pytest.fixture
def tiny(tiny_dir: Path):
    return load_dataset(tiny_dir)


def _sorted(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df.sort_values(list(TABLES[name].key_in(df.columns))).reset_index(drop=True)


def assert_same_tables(got, expected) -> None:
    assert sorted(got.tables) == sorted(expected.tables)
    for name in expected.tables:
        pd.testing.assert_frame_equal(_sorted(got.tables[name], name), _sorted(expected.tables[name], name),
                                      obj=name)


def without(dataset, *names: str):
    return replace(dataset, tables={k: v for k, v in dataset.tables.items() if k not in names})


def with_table(dataset, name: str, df: pd.DataFrame):
    return replace(dataset, tables={**dataset.tables, name: df})


# --------------------------------------------------------------------------- round trip


def test_round_trip_gives_the_folder_tables(db: Db, tiny) -> None:
    written = db.write(tiny)
    assert written == {name: len(df) for name, df in tiny.tables.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractWarning)
        back = db.load()
    assert_same_tables(back, tiny)
    assert back.base_currency == "USD"
    assert back.source == mask_url(db.url)


@pytest.mark.slow
def test_round_trip_of_the_sample_company(db: Db, monkeypatch) -> None:
    """Written in chunks (the bulk paths: DuckDB scans frames, PostgreSQL takes COPY), read back the same,
    in chunks too (PostgreSQL: a server-side cursor; DuckDB hands over whole Arrow tables)."""
    from kpilib.data import databases

    monkeypatch.setattr(databases, "INSERT_ROWS", 7_000)  # product_usage: 16 chunks, the last one short
    monkeypatch.setattr(databases, "FETCH_ROWS", 5_000)  # subscriptions 1, leads 3, product_usage 23 chunks
    sample = load_dataset()
    db.write(sample)
    assert_same_tables(db.load(), sample)


def test_replace_overwrites_and_fail_refuses(db: Db, tiny) -> None:
    db.write(tiny)
    db.write(tiny)  # replace is the default: no duplicates
    assert_same_tables(db.load(), tiny)
    with pytest.raises(KpiError, match="already exist"):
        db.write(tiny, if_exists="fail")
    with pytest.raises(KpiError, match="failed"):  # the primary key refuses the same rows twice
        db.write(tiny, if_exists="append")
    with pytest.raises(KpiError, match="if_exists"):
        db.write(tiny, if_exists="merge")


def test_optional_tables_may_be_absent(db: Db, tiny) -> None:
    db.write(without(tiny, "leads", "survey_responses", "financials"))
    back = db.load()
    assert not back.has("leads") and not back.has("financials")
    assert_same_tables(back, without(tiny, "leads", "survey_responses", "financials"))


# --------------------------------------------------------------------------- contract violations


def test_violation_names_table_column_rule_and_record(db: Db, tiny) -> None:
    subs = tiny.subscriptions.assign(amount=[100.0, -5.0])  # s2, the 2nd record in key order
    db.write(with_table(tiny, "subscriptions", subs))
    with pytest.raises(ContractError) as info:
        db.load()
    err = info.value
    assert (err.table, err.column, err.rows) == ("subscriptions", "amount", [2])
    assert ">= 0" in err.rule
    assert "subscriptions in " in err.file


def test_cross_table_rule_applies_to_databases(db: Db, tiny) -> None:
    ghost = pd.DataFrame([{**tiny.subscriptions.iloc[0].to_dict(), "subscription_id": "s3",
                           "customer_id": "ghost"}]).astype(tiny.subscriptions.dtypes.to_dict())
    db.write(with_table(tiny, "subscriptions", pd.concat([tiny.subscriptions, ghost], ignore_index=True)))
    with pytest.raises(ContractError) as info:
        db.load()
    assert (info.value.table, info.value.column, info.value.rows) == ("subscriptions", "customer_id", [3])
    assert "customers.customer_id" in info.value.rule


def test_missing_required_table(db: Db, tiny) -> None:
    db.write(without(tiny, "customers"))
    with pytest.raises(ContractError) as info:
        db.load()
    assert (info.value.table, info.value.column) == ("customers", None)
    assert "required table is missing" in info.value.rule


def test_missing_required_column_suggests_a_near_name(db: Db, tiny) -> None:
    db.write(without(tiny, "fx_rates"))
    db.create("fx_rates", {"currency": sa.Text(), "rate_to_bse": sa.Float()},
              [{"currency": "USD", "rate_to_bse": 1.0}, {"currency": "EUR", "rate_to_bse": 1.1}])
    with pytest.raises(ContractError) as info:
        db.load()
    assert (info.value.table, info.value.column) == ("fx_rates", "rate_to_base")
    assert "did you mean 'rate_to_bse'" in info.value.rule


def test_text_in_a_numeric_column_is_rejected(db: Db, tiny) -> None:
    db.write(without(tiny, "fx_rates"))
    db.create("fx_rates", {"currency": sa.Text(), "rate_to_base": sa.Text()},
              [{"currency": "USD", "rate_to_base": "1"}, {"currency": "EUR", "rate_to_base": "1.1"}])
    with pytest.raises(ContractError) as info:
        db.load()
    assert (info.value.table, info.value.column) == ("fx_rates", "rate_to_base")
    assert "numeric" in info.value.rule


def test_months_as_dates_and_decimals_are_read(db: Db, tiny) -> None:
    db.write(without(tiny, "marketing_spend"))
    db.create("marketing_spend", {"month": sa.Date(), "channel": sa.Text(), "category": sa.Text(),
                                  "amount": sa.Numeric(12, 2)},
              [{"month": date(2024, 1, 1), "channel": "Organic Search", "category": "marketing",
                "amount": 500}])
    assert_same_tables(db.load(), tiny)


def test_a_month_date_must_be_a_first_of_month(db: Db, tiny) -> None:
    db.write(without(tiny, "marketing_spend"))
    db.create("marketing_spend", {"month": sa.Date(), "channel": sa.Text(), "category": sa.Text(),
                                  "amount": sa.Float()},
              [{"month": date(2024, 1, 1), "channel": "A", "category": "marketing", "amount": 5.0},
               {"month": date(2024, 2, 15), "channel": "A", "category": "marketing", "amount": 5.0}])
    with pytest.raises(ContractError) as info:
        db.load()
    assert (info.value.table, info.value.column, info.value.rows) == ("marketing_spend", "month", [2])


def test_extra_columns_are_noted_not_read(duck: Db, tiny) -> None:
    duck.write(without(tiny, "fx_rates"))
    duck.create("fx_rates", {"currency": sa.Text(), "rate_to_base": sa.Float(), "loaded_at": sa.Text()},
                [{"currency": "USD", "rate_to_base": 1.0, "loaded_at": "x"},
                 {"currency": "EUR", "rate_to_base": 1.1, "loaded_at": "y"}])
    with pytest.warns(ContractWarning, match="loaded_at"):
        back = duck.load()
    assert_same_tables(back, tiny)


def test_side_by_side_reads_raise_and_note_as_reads_in_turn(duck: Db, tiny, monkeypatch) -> None:
    """A backend that takes concurrent queries (Spark) has its tables fetched in threads: the error
    raised and the notes are still those of reading the tables in the contract's order. Here DuckDB
    is marked concurrent, its one connection behind a lock; subscriptions (an earlier table) breaks a
    value rule, leads (a later one) misses a column and fx_rates has an extra one."""
    import threading

    from kpilib.data import databases

    subs = tiny.subscriptions.assign(amount=[100.0, -5.0])
    duck.write(without(with_table(tiny, "subscriptions", subs), "leads", "fx_rates"))
    duck.create("leads", {"lead_id": sa.Text()}, [{"lead_id": "l1"}])
    duck.create("fx_rates", {"currency": sa.Text(), "rate_to_base": sa.Float(), "loaded_at": sa.Text()},
                [{"currency": "USD", "rate_to_base": 1.0, "loaded_at": "x"},
                 {"currency": "EUR", "rate_to_base": 1.1, "loaded_at": "y"}])
    lock, threads = threading.Lock(), set()

    def one_at_a_time(method):  # what a read asks of its backend, behind the lock
        def locked(self, *args):
            threads.add(threading.current_thread().name)
            with lock:
                return method(self, *args)
        return locked

    for name in ("fetch", "columns"):
        monkeypatch.setattr(databases.SqlBackend, name, one_at_a_time(getattr(databases.SqlBackend, name)))
    outcomes = {}
    for concurrent in (False, True):
        threads.clear()
        monkeypatch.setattr(databases.SqlBackend, "concurrent", concurrent, raising=False)
        with pytest.raises(ContractError) as info, warnings.catch_warnings(record=True):
            duck.load()
        outcomes[concurrent] = (info.value.table, info.value.column, info.value.rows)
        assert any(t.startswith("kpilib-read") for t in threads) == concurrent
    assert outcomes[True] == outcomes[False] == ("subscriptions", "amount", [2])
    subs_ok = without(tiny, "leads", "fx_rates")  # now only the later tables' notes and error remain
    duck.write(subs_ok, if_exists="replace")
    for concurrent in (False, True):
        monkeypatch.setattr(databases.SqlBackend, "concurrent", concurrent, raising=False)
        with pytest.raises(ContractError) as info, warnings.catch_warnings(record=True):
            duck.load()
        outcomes[concurrent] = (info.value.table, info.value.column)
    assert outcomes[True] == outcomes[False] == ("leads", "created_at")


# --------------------------------------------------------------------------- mapping, schema, URLs


_BILLING_SUBS = [
    {"subscription_id": "s1", "customer_id": "c1", "plan": "Starter", "start_date": date(2024, 1, 15),
     "end_date": None, "amt": 100.0, "billing_interval": "month", "currency": "USD"},
    {"subscription_id": "s2", "customer_id": "c2", "plan": "Pro", "start_date": date(2024, 2, 3),
     "end_date": date(2025, 2, 3), "amt": 1200.0, "billing_interval": "year", "currency": "EUR"},
]
_BILLING_TYPES = {"subscription_id": sa.Text(), "customer_id": sa.Text(), "plan": sa.Text(),
                  "start_date": sa.Date(), "end_date": sa.Date(), "amt": sa.Float(),
                  "billing_interval": sa.Text(), "currency": sa.Text()}


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_mapping_file_names_the_users_tables_and_columns(db: Db, tiny, tmp_path: Path, fmt: str) -> None:
    db.write(without(tiny, "subscriptions"))
    db.create("billing_subs", _BILLING_TYPES, _BILLING_SUBS)
    path = tmp_path / f"mapping.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps({"subscriptions": {"table": "billing_subs", "columns": {"amount": "amt"}}}))
    else:
        path.write_text('[subscriptions]\ntable = "billing_subs"\n\n[subscriptions.columns]\namount = "amt"\n')
    assert_same_tables(db.load(mapping=path), tiny)


def test_views_serve_as_contract_tables(db: Db, tiny) -> None:
    db.write(without(tiny, "subscriptions"))
    db.create("billing_subs", _BILLING_TYPES, _BILLING_SUBS)
    prefix = f"{db.schema}." if db.schema else ""  # a generated identifier, safe to paste
    db.run(sa.text(f"CREATE VIEW {prefix}subscriptions AS SELECT subscription_id, customer_id, plan, "
                   f"start_date, end_date, amt AS amount, billing_interval, currency FROM {prefix}billing_subs"))
    assert_same_tables(db.load(), tiny)


def test_mapping_names_match_ignoring_case(db: Db, tiny) -> None:
    db.write(without(tiny, "subscriptions"))
    db.create("billing_subs", _BILLING_TYPES, _BILLING_SUBS)
    assert_same_tables(db.load(mapping={"subscriptions": {"table": "Billing_Subs",
                                                          "columns": {"amount": "AMT"}}}), tiny)


def test_mapping_errors_are_clear(duck: Db, tiny) -> None:
    duck.write(tiny)
    with pytest.raises(KpiError, match="unknown table 'subscription'"):
        duck.load(mapping={"subscription": {"table": "x"}})
    with pytest.raises(KpiError, match="no column 'amout'"):
        duck.load(mapping={"subscriptions": {"columns": {"amout": "amt"}}})
    with pytest.raises(ContractError, match="mapped table 'billing' does not exist"):
        duck.load(mapping={"subscriptions": {"table": "billing"}})
    with pytest.raises(ContractError) as info:
        duck.load(mapping={"subscriptions": {"columns": {"amount": "amt"}}})
    assert info.value.column == "amount" and "mapped to 'amt'" in info.value.rule


def test_unknown_schema_and_missing_file(duck: Db, tiny, tmp_path: Path) -> None:
    duck.write(tiny)
    with pytest.raises(KpiError, match="schema 'nowhere' does not exist"):
        load_database(duck.url, schema="nowhere")
    with pytest.raises(KpiError, match="does not exist") as info:
        load_database(f"duckdb:///{tmp_path / 'absent.duckdb'}")
    assert "relative" not in str(info.value)  # an absolute path: nothing to explain
    assert not (tmp_path / "absent.duckdb").exists()
    # three slashes and no fourth: a relative path, which the message says
    with pytest.raises(KpiError, match=r"does not exist \(a path after duckdb:/// is relative to .*duckdb:////"):
        load_database("duckdb:///nowhere/absent.duckdb")


def test_source_is_masked_and_errors_do_not_leak_the_password(pg: Db, tiny) -> None:
    password = sa.make_url(pg.url).password
    assert password
    pg.write(with_table(tiny, "subscriptions", tiny.subscriptions.assign(amount=[100.0, -5.0])))
    with pytest.raises(ContractError) as info:
        pg.load()
    assert password not in str(info.value) and "***" in str(info.value)
    pg.write(tiny)
    back = pg.load()
    assert password not in back.source and ":***@" in back.source
    wrong = sa.make_url(pg.url).set(password="Wrong-Secret-42").render_as_string(hide_password=False)
    with pytest.raises(KpiError) as info:
        load_database(wrong, schema=pg.schema)
    assert "Wrong-Secret-42" not in str(info.value) and "***" in str(info.value)


def test_mask_url_hides_passwords_and_secret_parameters() -> None:
    assert mask_url("postgresql+psycopg://kpi:s3cr3t@db.example.com:5432/kpi") == \
        "postgresql+psycopg://kpi:***@db.example.com:5432/kpi"
    masked = mask_url("snowflake://me:pw0rd@acct/db/sch?warehouse=wh&private_key_passphrase=hush")
    assert "pw0rd" not in masked and "hush" not in masked and "warehouse=wh" in masked
    assert mask_url("duckdb:///data/kpi.duckdb") == "duckdb:///data/kpi.duckdb"
    assert "p@ss" not in mask_url("postgresql://u:p@ss@host/db")


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql+psycopg://u:p@h/db", True), ("duckdb:///tmp/k.duckdb", True), ("snowflake://a/b", True),
    ("bigquery://project/dataset", True), ("data/sample", False), ("/abs/folder", False),
    ("C:\\data\\kpi", False), ("file:///tmp/x", False), ("https://example.com/x", False),
    ("sample", False), (None, False), (Path("data"), False),
])
def test_is_database_url(text, expected) -> None:
    assert is_database_url(text) is expected


def test_url_comes_from_the_environment(monkeypatch, duck: Db, tiny) -> None:
    monkeypatch.delenv("KPI_DATABASE_URL", raising=False)
    with pytest.raises(KpiError, match="KPI_DATABASE_URL is not set"):
        database_url_from_env()
    monkeypatch.setenv("KPI_DATABASE_URL", "data/sample")
    with pytest.raises(KpiError, match="not hold a database URL"):
        database_url_from_env()
    duck.write(tiny)
    monkeypatch.setenv("KPI_DATABASE_URL", duck.url)
    assert database_url_from_env() == duck.url
    assert_same_tables(load_database(), tiny)


def test_schema_and_mapping_may_come_from_the_environment(monkeypatch, tmp_path: Path, tiny) -> None:
    crm = Db(_duckdb(tmp_path).url, "crm")
    crm.write(without(tiny, "subscriptions"))
    crm.create("billing_subs", _BILLING_TYPES, _BILLING_SUBS)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"subscriptions": {"table": "billing_subs", "columns": {"amount": "amt"}}}))
    monkeypatch.setenv("KPI_DATABASE_URL", crm.url)
    monkeypatch.setenv("KPI_DATABASE_SCHEMA", "crm")
    monkeypatch.setenv("KPI_DATABASE_MAPPING", str(mapping))
    assert_same_tables(load_database(), tiny)
    with pytest.raises(ContractError, match="required table is missing"):
        load_database(crm.url)  # an explicit URL uses only explicit arguments: default schema
    main = Db(crm.url, None)  # the same tables in the default schema are separate tables
    main.write(tiny, if_exists="fail")
    assert_same_tables(main.load(), tiny)


# --------------------------------------------------------------------------- pushdown


def _product_events(rng) -> pd.DataFrame:
    n = 300
    start = datetime(2024, 1, 1)
    seconds = rng.integers(0, 120 * 86400, n)
    events = pd.DataFrame({
        "customer_id": rng.choice(["c1", "c2"], n),
        "timestamp": [start + timedelta(seconds=int(s)) for s in seconds],
        "event": rng.choice(["login", "report_created", "export"], n),
    })
    edges = pd.DataFrame({"customer_id": ["c1", "c1", "c2"], "event": ["login"] * 3,
                          "timestamp": [datetime(2024, 1, 31, 23, 59, 59), datetime(2024, 2, 1),
                                        datetime(2024, 2, 29, 23, 59, 59)]})
    return pd.concat([events, edges], ignore_index=True)


def _web_sessions(rng) -> pd.DataFrame:
    n = 400
    seconds = rng.integers(0, 10 * 86400, n)
    visitors = [f"v{i:02d}" for i in rng.integers(0, 40, n)]
    visitors[:3] = [None, None, None]  # sessions without a visitor id count as sessions only
    return pd.DataFrame({
        "timestamp": [datetime(2024, 3, 1) + timedelta(seconds=int(s)) for s in seconds],
        "channel": rng.choice(["Organic Search", "Paid Search", "Direct"], n),
        "visitor_id": visitors,
        "bounced": rng.random(n) < 0.4,
    })


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in row.items()}
            for row in df.astype(object).to_dict("records")]


def _expected_usage(events: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    return (events.assign(month=events["timestamp"].dt.to_period("M"))
            .groupby(["customer_id", "month", "event"]).size().rename("count").reset_index()
            .astype(dtypes.to_dict()))


def _expected_traffic(sessions: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    s = sessions.assign(date=sessions["timestamp"].dt.normalize())
    first_day = s.groupby("visitor_id")["date"].min()
    s = s.assign(new_visitor=s["visitor_id"].where(s["date"] == s["visitor_id"].map(first_day)))
    by_day = s.groupby(["date", "channel"])
    return (pd.DataFrame({"sessions": by_day.size(),
                          "unique_visitors": by_day["visitor_id"].nunique(),
                          "new_visitors": by_day["new_visitor"].nunique(),
                          "bounced_sessions": by_day["bounced"].sum()})
            .reset_index().astype(dtypes.to_dict()))


_EVENT_TYPES = {"customer_id": sa.Text(), "timestamp": sa.DateTime(), "event": sa.Text()}
_SESSION_TYPES = {"timestamp": sa.DateTime(), "channel": sa.Text(), "visitor_id": sa.Text(),
                  "bounced": sa.Boolean()}


def test_pushdown_aggregates_raw_events_like_pandas(db: Db, tiny, rng) -> None:
    events, sessions = _product_events(rng), _web_sessions(rng)
    db.write(without(tiny, "product_usage", "web_traffic"))
    db.create("product_events", _EVENT_TYPES, _records(events))
    db.create("web_sessions", _SESSION_TYPES, _records(sessions))
    back = db.load()
    usage = _expected_usage(events, tiny.tables["product_usage"].dtypes)
    traffic = _expected_traffic(sessions, tiny.tables["web_traffic"].dtypes)
    assert usage["count"].sum() == len(events) and traffic["sessions"].sum() == len(sessions)
    pd.testing.assert_frame_equal(_sorted(back.tables["product_usage"], "product_usage"),
                                  _sorted(usage, "product_usage"))
    pd.testing.assert_frame_equal(_sorted(back.tables["web_traffic"], "web_traffic"),
                                  _sorted(traffic, "web_traffic"))


def test_pushdown_follows_the_mapping(duck: Db, tiny, rng) -> None:
    events = _product_events(rng).rename(columns={"timestamp": "occurred_at"})
    duck.write(without(tiny, "product_usage"))
    duck.create("app_events", {"customer_id": sa.Text(), "occurred_at": sa.DateTime(), "event": sa.Text()},
                _records(events))
    back = duck.load(mapping={"product_events": {"table": "app_events",
                                                 "columns": {"timestamp": "occurred_at"}}})
    expected = _expected_usage(events.rename(columns={"occurred_at": "timestamp"}),
                               tiny.tables["product_usage"].dtypes)
    pd.testing.assert_frame_equal(_sorted(back.tables["product_usage"], "product_usage"),
                                  _sorted(expected, "product_usage"))


def test_aggregated_table_wins_over_raw_events(duck: Db, tiny, rng) -> None:
    duck.write(tiny)
    duck.create("product_events", _EVENT_TYPES, _records(_product_events(rng)))
    with pytest.warns(ContractWarning, match="product_events"):
        back = duck.load()
    assert_same_tables(back, tiny)


def test_pushdown_checks_the_raw_columns(duck: Db, tiny) -> None:
    duck.write(without(tiny, "web_traffic"))
    duck.create("web_sessions", {"timestamp": sa.DateTime(), "channel": sa.Text(), "visitor": sa.Text(),
                                 "bounced": sa.Boolean()}, [])
    with pytest.raises(ContractError) as info:
        duck.load()
    assert (info.value.table, info.value.column) == ("web_sessions", "visitor_id")


@pytest.mark.slow
def test_each_table_read_is_validated_before_the_next_is_read_and_its_raw_frame_let_go(
        duck: Db, tiny, monkeypatch) -> None:
    """A database holds at most one table twice (raw and validated), never every raw table at once:
    when a table is read, the raw frames read before it are gone."""
    import gc
    import weakref

    import kpilib.data.databases as databases

    duck.write(tiny)
    raws: list[weakref.ref] = []
    alive_at_read: list[int] = []
    read = databases.Reader.read

    def counting_read(self, spec):
        gc.collect()
        alive_at_read.append(sum(r() is not None for r in raws))
        found = read(self, spec)
        if found is not None:
            raws.append(weakref.ref(found[0]))
        return found

    monkeypatch.setattr(databases.Reader, "read", counting_read)
    back = duck.load()
    assert len(raws) == len(back.tables) == len(tiny.tables) and len(alive_at_read) == len(TABLES)
    # every raw table read first and held until validated gave 0, 1, 2, ...
    assert alive_at_read == [0] * len(TABLES), alive_at_read
    assert_same_tables(back, tiny)
