"""Files and dates as people export them: each fault gets its own precise ContractError with the
right row number, and dates with a time or an offset are read, never an internal error."""

from __future__ import annotations

import gzip
import zipfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpilib import ContractError, load_dataset

from conftest import TINY, write_table


def _error(folder) -> ContractError:
    with pytest.raises(ContractError) as err:
        load_dataset(str(folder))
    return err.value


def _subs_text(tiny_dir) -> str:
    return (tiny_dir / "subscriptions.csv").read_text(encoding="utf-8")


def test_gzip_zip_and_utf16_files_are_named_for_what_they_are(tiny_dir):
    text = _subs_text(tiny_dir)
    path = tiny_dir / "subscriptions.csv"
    path.write_bytes(gzip.compress(text.encode()))
    assert "gzip-compressed" in _error(tiny_dir).rule
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("subscriptions.csv", text)
    assert "zip archive" in _error(tiny_dir).rule
    path.write_text(text, encoding="utf-16")
    err = _error(tiny_dir)
    assert "UTF-16" in err.rule and "Latin-1" not in err.rule


def test_tab_delimited_is_named_as_such(tiny_dir):
    path = tiny_dir / "subscriptions.csv"
    path.write_text(_subs_text(tiny_dir).replace(",", "\t"), encoding="utf-8")
    err = _error(tiny_dir)
    assert "tab-delimited" in err.rule and err.rows == [1]


def test_a_duplicate_header_is_refused_not_silently_resolved(tiny_dir):
    path = tiny_dir / "subscriptions.csv"
    lines = _subs_text(tiny_dir).splitlines()
    path.write_text("\n".join([lines[0] + ",amount"] + [row + ",5" for row in lines[1:]]) + "\n")
    err = _error(tiny_dir)
    assert (err.table, err.column, err.rows) == ("subscriptions", "amount", [1])
    assert "more than once" in err.rule


def test_row_numbers_count_lines_after_quoted_newlines_and_blank_lines(tiny_dir):
    rows = [dict(r) for r in TINY["customers"]]
    rows[0]["name"] = "Acme\nUnit 2"  # a quoted field over two lines
    rows.append({**rows[1], "customer_id": "c3", "created_at": "not a date"})
    write_table(tiny_dir, "customers", rows)
    err = _error(tiny_dir)
    assert (err.column, err.rows) == ("created_at", [5])  # header 1, c1 on 2-3, c2 on 4, c3 on 5
    text = (tiny_dir / "customers.csv").read_text().splitlines()
    (tiny_dir / "customers.csv").write_text("\n".join(text[:4] + [""] + text[4:]) + "\n")
    assert _error(tiny_dir).rows == [6]


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n", "a,b\n\n1,2\n\n\n3,4", "a,b\r\n1,2\r\n\r\n3,4\r\n", "a,b\r1,2\r\r3,4\r",
    "\n\na,b\n1,2\n", "a,b\n,\n \n1,2\n", "a\n1\n\n2\n", "", "\n\n", "a,b,,\n1,2,,\n\r\n\n5,6,7,8",
])
def test_records_are_found_at_the_same_lines_without_the_csv_module(text):
    """Files without quotes skip the csv module: the header and each record's line are its."""
    from kpilib.data.files import _record_starts, _records

    records = list(_records(text))
    assert _record_starts(text) == ((records[0][1] if records else []), [line for line, _ in records])


def test_row_numbers_count_blank_lines_and_windows_line_ends_in_a_file_without_quotes(tiny_dir):
    rows = [dict(r) for r in TINY["customers"]] + [{**TINY["customers"][1], "customer_id": "c3",
                                                    "created_at": "not a date"}]
    write_table(tiny_dir, "customers", rows)
    lines = (tiny_dir / "customers.csv").read_text().splitlines()
    assert '"' not in "".join(lines)
    (tiny_dir / "customers.csv").write_bytes("\r\n".join(lines[:2] + ["", ""] + lines[2:]).encode())
    assert _error(tiny_dir).rows == [6]  # header 1, c1 2, blank 3-4, c2 5, c3 6


def test_whitespace_only_text_is_empty(tiny_dir):
    rows = [dict(r) for r in TINY["customers"]]
    rows[1]["name"] = "   "
    write_table(tiny_dir, "customers", rows)
    err = _error(tiny_dir)
    assert (err.column, err.rule, err.rows) == ("name", "must not be empty", [3])


def test_lead_stages_cannot_precede_the_lead(tiny_dir):
    rows = [dict(r) for r in TINY["leads"]]
    rows[0]["sql_at"] = "2023-12-30"  # created 2024-01-02
    write_table(tiny_dir, "leads", rows)
    err = _error(tiny_dir)
    assert (err.table, err.column, err.rows) == ("leads", "sql_at", [2])


@pytest.mark.parametrize(("text", "day"), [
    ("2024-01-15", "2024-01-15"), ("2024-01-15 10:00:00", "2024-01-15"), ("2024-01-15T10:00:00Z", "2024-01-15"),
    ("2024-01-15T10:00:00+05:00", "2024-01-15"), ("2024-01-15T02:00:00+05:00", "2024-01-14"),
    ("2024-01-15T23:30:00-02:00", "2024-01-16"),
])
def test_iso_dates_with_times_and_offsets_are_read_in_utc(tiny_dir, text, day):
    rows = [dict(r) for r in TINY["subscriptions"]]
    rows[0]["start_date"] = text
    rows[1]["start_date"] = "2024-02-03T09:00:00+01:00"  # a different offset in the same column
    write_table(tiny_dir, "subscriptions", rows)
    subs = load_dataset(str(tiny_dir)).subscriptions
    assert subs["start_date"].iloc[0] == pd.Timestamp(day)


DATE_TEXT = st.one_of(
    st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2035-12-31").date())
    .map(lambda d: d.isoformat()),
    st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2035-12-31").to_pydatetime())
    .map(lambda t: t.isoformat()),
    st.tuples(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2035-12-31").date()),
              st.integers(0, 23), st.integers(-12, 14), st.sampled_from(["Z", "offset", " "]))
    .map(lambda x: f"{x[0].isoformat()}T{x[1]:02d}:00:00Z" if x[3] == "Z" else
         (f"{x[0].isoformat()}T{x[1]:02d}:00:00{x[2]:+03d}:00" if x[3] == "offset" else
          f"{x[0].isoformat()} {x[1]:02d}:15:00")),
    st.sampled_from(["15/01/2024", "01/15/2024", "Jan 15 2024", "2024-13-01", "2024-02-30", "", " ", "NaN",
                     "20240115", "2024-1-5", "yesterday"]),
    st.text(max_size=12),
)
NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1,234.50", "1.234,50", "$100", "100 EUR", "1e5", "-0", "", "  7  ", "inf", "-inf", "NaN",
                     "1e308", "0x10", "1_000"]),
    st.text(max_size=8),
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(date=DATE_TEXT, amount=NUMBER_TEXT)
def test_any_exported_date_or_amount_loads_or_is_a_contract_error(tmp_path_factory, date, amount):
    folder = tmp_path_factory.mktemp("fuzz")
    for name in ("customers", "fx_rates"):
        write_table(folder, name, [dict(r) for r in TINY[name]])
    rows = [dict(r) for r in TINY["subscriptions"]]
    rows[0]["start_date"], rows[0]["amount"] = date, amount
    write_table(folder, "subscriptions", rows)
    try:
        subs = load_dataset(str(folder)).subscriptions
    except ContractError:
        return
    assert subs["amount"].map(lambda v: pd.notna(v) and abs(v) < float("inf")).all()
    assert subs["start_date"].notna().all()
