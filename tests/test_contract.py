"""Every contract rule, each with a bad file: one error naming table, column, rule and rows."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpilib import ContractError, ContractWarning, KpiError, load_dataset
from kpilib.data.contract import TABLES, contract_markdown

from conftest import TINY, write_table


def rewrite(d: Path, table: str, row: int | None = None, **changes: str) -> None:
    """Rewrite ``table`` with ``changes`` applied to data row ``row`` (0-based; CSV line row+2)."""
    rows = copy.deepcopy(TINY[table])
    if row is not None:
        rows[row].update(changes)
    write_table(d, table, rows)


def expect(d: Path, table: str, column: str | None, rule: str, rows: list[int] | None = None):
    with pytest.raises(ContractError) as info:
        load_dataset(d)
    err = info.value
    assert err.table == table
    assert err.column == column
    assert rule in err.rule, err.rule
    if rows is not None:
        assert err.rows == rows
    assert table in str(err) and rule in str(err)
    return err


def test_tiny_company_is_valid(tiny_dir):
    ds = load_dataset(tiny_dir)
    assert set(ds.tables) == set(TABLES)
    assert ds.subscriptions["amount"].tolist() == [100.0, 1200.0]
    assert pd.isna(ds.subscriptions["end_date"].iloc[0])
    assert str(ds.tables["marketing_spend"]["month"].dtype) == "period[M]"
    assert ds.data_end == pd.Timestamp("2024-03-02")


def test_missing_required_table(tiny_dir):
    (tiny_dir / "customers.csv").unlink()
    expect(tiny_dir, "customers", None, "required table is missing")


def test_missing_optional_table_is_fine(tiny_dir):
    (tiny_dir / "leads.csv").unlink()
    ds = load_dataset(tiny_dir)
    assert not ds.has("leads")
    with pytest.raises(KpiError, match="needs the 'leads' table"):
        ds.require("leads")


def test_missing_column(tiny_dir):
    rows = [{k: v for k, v in r.items() if k != "amount"} for r in TINY["subscriptions"]]
    write_table(tiny_dir, "subscriptions", rows)
    expect(tiny_dir, "subscriptions", "amount", "required column is missing")


def test_misspelt_column_suggests_the_right_name(tiny_dir):
    rows = [{("amout" if k == "amount" else k): v for k, v in r.items()} for r in TINY["subscriptions"]]
    write_table(tiny_dir, "subscriptions", rows)
    err = expect(tiny_dir, "subscriptions", "amount", "did you mean 'amout'?")
    assert "required column is missing" in err.rule


def test_unknown_extra_column_warns_but_loads(tiny_dir):
    rows = [dict(r, colour="blue") for r in TINY["customers"]]
    write_table(tiny_dir, "customers", rows)
    with pytest.warns(ContractWarning, match="unknown column 'colour'"):
        ds = load_dataset(tiny_dir)
    assert "table 'customers': unknown column 'colour' is ignored" in ds.notes


def test_optional_column_may_be_absent(tiny_dir):
    ds = load_dataset(tiny_dir)
    assert "term_months" not in ds.subscriptions.columns


def test_wrong_type(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 1, amount="twelve hundred")
    expect(tiny_dir, "subscriptions", "amount", "values must be numbers", [3])


def test_count_must_be_whole(tiny_dir):
    rewrite(tiny_dir, "web_traffic", 0, sessions="10.5")
    expect(tiny_dir, "web_traffic", "sessions", "whole numbers", [2])


def test_unparseable_date(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 0, start_date="2024-13-45")
    expect(tiny_dir, "subscriptions", "start_date", "dates must parse as YYYY-MM-DD", [2])


def test_bad_month(tiny_dir):
    rewrite(tiny_dir, "financials", 0, month="2024/01")
    expect(tiny_dir, "financials", "month", "YYYY-MM", [2])


def test_month_of_year_zero(tiny_dir):
    # matched the pattern, then crashed the parser ("year 0 is out of range": an internal error)
    rewrite(tiny_dir, "product_usage", 0, month="0000-01")
    expect(tiny_dir, "product_usage", "month", "YYYY-MM", [2])


def test_month_with_a_line_break_after_it(tiny_dir):
    rewrite(tiny_dir, "product_usage", 0, month="2024-02\n")  # Python's "$" matches before a final line break
    expect(tiny_dir, "product_usage", "month", "YYYY-MM", [2])


def test_end_before_start(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 1, end_date="2024-01-01")
    expect(tiny_dir, "subscriptions", "end_date", "end_date must be after start_date", [3])


def test_end_equal_start_is_rejected(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 0, end_date="2024-01-15")
    expect(tiny_dir, "subscriptions", "end_date", "after start_date", [2])


def test_negative_amount(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 0, amount="-5")
    expect(tiny_dir, "subscriptions", "amount", ">= 0", [2])


def test_unknown_billing_interval(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 0, billing_interval="weekly")
    expect(tiny_dir, "subscriptions", "billing_interval", "one of month | quarter | year", [2])


def test_currency_without_rate(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 1, currency="JPY")
    expect(tiny_dir, "subscriptions", "currency", "every currency needs a rate", [3])


def test_currency_code_format(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 1, currency="eur")
    expect(tiny_dir, "subscriptions", "currency", "ISO 4217", [3])


def test_no_fx_table_requires_base_currency_amounts(tiny_dir):
    (tiny_dir / "fx_rates.csv").unlink()
    expect(tiny_dir, "subscriptions", "currency", "need an fx_rates table", [3])


def test_base_currency_needs_a_rate(tiny_dir):
    with pytest.raises(ContractError, match="base currency GBP has no rate"):
        load_dataset(tiny_dir, base_currency="GBP")


def test_duplicate_ids(tiny_dir):
    rewrite(tiny_dir, "customers", 1, customer_id="c1")
    expect(tiny_dir, "customers", "customer_id", "must be unique", [2, 3])


def test_duplicate_composite_key(tiny_dir):
    rows = TINY["web_traffic"] * 2
    write_table(tiny_dir, "web_traffic", rows)
    err = expect(tiny_dir, "web_traffic", None, "key (date, channel) must be unique")
    assert err.rows == [2, 3]


def test_orphan_foreign_key(tiny_dir):
    rewrite(tiny_dir, "subscriptions", 1, customer_id="c9")
    expect(tiny_dir, "subscriptions", "customer_id", "must exist in customers", [3])


def test_null_in_required_value(tiny_dir):
    rewrite(tiny_dir, "customers", 0, name="")
    expect(tiny_dir, "customers", "name", "must not be empty", [2])


def test_nps_score_out_of_range(tiny_dir):
    rewrite(tiny_dir, "survey_responses", 0, score="11")
    expect(tiny_dir, "survey_responses", "score", "<= 10", [2])


def test_ces_score_out_of_range(tiny_dir):
    rewrite(tiny_dir, "survey_responses", 1, score="0")
    expect(tiny_dir, "survey_responses", "score", "ces scores must be 1-7", [3])


def test_unknown_survey(tiny_dir):
    rewrite(tiny_dir, "survey_responses", 1, survey="csat")
    expect(tiny_dir, "survey_responses", "survey", "one of nps | enps | ces", [3])


def test_outcome_without_close_date(tiny_dir):
    rewrite(tiny_dir, "leads", 1, outcome="lost")
    expect(tiny_dir, "leads", "outcome", "outcome must be set exactly when closed_at is set", [3])


def test_bounced_more_than_sessions(tiny_dir):
    rewrite(tiny_dir, "web_traffic", 0, bounced_sessions="101")
    expect(tiny_dir, "web_traffic", "bounced_sessions", "must not exceed sessions", [2])


def test_empty_required_table(tiny_dir):
    write_table(tiny_dir, "subscriptions", [], columns=list(TINY["subscriptions"][0]))
    expect(tiny_dir, "subscriptions", None, "table has no rows")


def test_empty_optional_table_is_allowed(tiny_dir):
    write_table(tiny_dir, "leads", [], columns=list(TINY["leads"][0]))
    assert load_dataset(tiny_dir).get("leads").empty


def test_zero_byte_file(tiny_dir):
    (tiny_dir / "customers.csv").write_bytes(b"")
    expect(tiny_dir, "customers", None, "file is empty")


def test_utf8_bom_is_accepted(tiny_dir):
    path = tiny_dir / "customers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    ds = load_dataset(tiny_dir)
    assert list(ds.customers.columns)[0] == "customer_id"
    assert ds.customers["name"].iloc[1] == "Müller & Söhne"


def test_latin1_file(tiny_dir):
    path = tiny_dir / "customers.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    expect(tiny_dir, "customers", None, "not UTF-8", [3])


def test_semicolon_delimited(tiny_dir):
    path = tiny_dir / "fx_rates.csv"
    path.write_text("currency;rate_to_base\nUSD;1\nEUR;1,1\n", encoding="utf-8")
    expect(tiny_dir, "fx_rates", None, "semicolon-delimited", [1])


def test_ragged_csv(tiny_dir):
    path = tiny_dir / "fx_rates.csv"
    path.write_text("currency,rate_to_base\nUSD,1\nEUR,1.1,extra,more\n", encoding="utf-8")
    expect(tiny_dir, "fx_rates", None, "CSV cannot be parsed", [3])


def test_parquet_is_read(tiny_dir):
    ds = load_dataset(tiny_dir)
    (tiny_dir / "subscriptions.csv").unlink()
    ds.subscriptions.to_parquet(tiny_dir / "subscriptions.parquet")
    again = load_dataset(tiny_dir)
    pd.testing.assert_frame_equal(again.subscriptions, ds.subscriptions)


def test_parquet_with_wrong_types(tiny_dir):
    good = load_dataset(tiny_dir).subscriptions
    (tiny_dir / "subscriptions.csv").unlink()
    good.astype({"amount": "str"}).to_parquet(tiny_dir / "subscriptions.parquet")
    expect(tiny_dir, "subscriptions", "amount", "must be numeric")


def test_parquet_with_text_dates(tiny_dir):
    good = load_dataset(tiny_dir).subscriptions
    (tiny_dir / "subscriptions.csv").unlink()
    good.astype({"start_date": "str"}).to_parquet(tiny_dir / "subscriptions.parquet")
    expect(tiny_dir, "subscriptions", "start_date", "must be a date")


def test_both_csv_and_parquet(tiny_dir):
    pd.DataFrame(TINY["fx_rates"]).astype({"rate_to_base": float}).to_parquet(tiny_dir / "fx_rates.parquet")
    expect(tiny_dir, "fx_rates", None, "keep exactly one")


def test_region_na_is_not_missing(tiny_dir):
    """'NA' (North America) must stay text, not become a missing value."""
    assert load_dataset(tiny_dir).customers["region"].tolist() == ["NA", "EMEA"]


def test_not_a_folder(tmp_path):
    with pytest.raises(KpiError, match="is not a folder"):
        load_dataset(tmp_path / "nope")


def test_many_bad_rows_are_summarised(tiny_dir):
    rows = [dict(TINY["fx_rates"][0], currency=f"C{i:02d}"[:3].upper()) for i in range(15)]
    for r in rows:
        r["rate_to_base"] = "x"
    write_table(tiny_dir, "fx_rates", rows)
    err = expect(tiny_dir, "fx_rates", "rate_to_base", "values must be numbers")
    assert len(err.rows) == 15
    assert "and 5 more" in str(err)


def test_filter_by_segment(tiny_dir):
    ds = load_dataset(tiny_dir).filter(segment="Enterprise")
    assert ds.customers["customer_id"].tolist() == ["c2"]
    assert ds.subscriptions["customer_id"].tolist() == ["c2"]
    assert ds.get("survey_responses")["respondent_id"].tolist() == ["c2"]
    assert ds.filters == {"segment": "Enterprise"}
    with pytest.raises(KpiError, match="known values: Enterprise, SMB"):
        load_dataset(tiny_dir).filter(segment="Gov")


def test_contract_doc_is_current():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert contract_markdown() in doc, "docs/data-contract.md is stale: paste `kpi contract` output"


def test_every_table_documents_every_column():
    md = contract_markdown()
    for table in TABLES.values():
        for column in table.columns:
            assert f"`{column.name}`" in md


def test_duplicate_keys_are_pandas_duplicated_over_the_key(rng):
    """The key check's folded codes find exactly the rows pandas' duplicated finds (empty values too)."""
    from kpilib.data.validation import duplicate_keys

    n = 3000
    df = pd.DataFrame({"a": rng.choice(["x", "y", "z", None], n), "b": rng.integers(0, 40, n),
                       "c": pd.array(rng.choice(["p", "q", None], n), dtype="str")})
    for key in (["a"], ["a", "b"], ["a", "b", "c"], ["c", "b"]):
        expected = df.duplicated(subset=key, keep=False).to_numpy()
        assert (duplicate_keys(df, key) == expected).all(), key
    assert not duplicate_keys(df.drop_duplicates(["a", "b", "c"]), ["a", "b", "c"]).any()
    # keys too many to flag one by one (3000 x 3000 possible): the hash table alone decides
    wide = pd.DataFrame({"a": [f"a{i}" for i in range(n)], "b": [f"b{i}" for i in range(n)]})
    assert not duplicate_keys(wide, ["a", "b"]).any()
    twice = pd.concat([wide, wide.iloc[[7]]], ignore_index=True)
    assert np.flatnonzero(duplicate_keys(twice, ["a", "b"])).tolist() == [7, n]


@pytest.mark.parametrize("dtype", ["str", object])
def test_ids_are_looked_up_like_isin(dtype):
    """The kit's id membership (one Arrow hash set: foreign keys, the as-of cut, segment filters) is
    pandas' isin, missing values never members, for the kit's Arrow-backed text and for plain Python
    strings, whether the allowed ids come as a column, a set or a list."""
    from kpilib.data.dataset import is_member

    values = pd.Series(["c1", "c2", None, "", "c10", "C1", "c1 "], dtype=dtype)
    allowed = pd.Series(["c1", "c10", "", None], dtype=dtype)
    want = [True, False, False, True, True, False, False]
    assert (values.isin(allowed.dropna()) & values.notna()).tolist() == want
    assert is_member(values, allowed).tolist() == want
    assert is_member(values, frozenset(["c1", "c10", ""])).tolist() == want
    assert is_member(values, ["c10", "c1", "", None]).tolist() == want
    assert is_member(values, set()).tolist() == [False] * 7
    assert is_member(values.iloc[:0], {"c1"}).tolist() == []
    # a missing allowed value never makes a missing value a member, however it is spelled
    for missing in (None, float("nan"), pd.NA):
        assert is_member(values, ["c1", "c10", "", missing]).tolist() == want
    assert is_member(values, pd.Index(["c1", "c10", "", np.nan])).tolist() == want


def test_ids_that_are_not_text_are_looked_up_by_pandas():
    """Numbers (a database may hand ids over as integers) are members as pandas' isin says."""
    from kpilib.data.dataset import is_member

    values = pd.Series([1, 2, None, 4], dtype="Int64")
    assert is_member(values, {2, 4}).tolist() == [False, True, False, True]
    assert is_member(pd.Series([1.0, float("nan")]), [1.0]).tolist() == [True, False]
    # text ids are never members of numbers, booleans or bytes that would print the same
    text = pd.Series(["1", "2", None, "true"], dtype="str")
    for other in ({1, 2}, pd.Series([1.0, 2.0]), [b"1"], [True]):
        assert is_member(text, other).tolist() == (text.isin(other) & text.notna()).tolist() == [False] * 4
    with pytest.raises(TypeError):
        is_member(text, "1")
