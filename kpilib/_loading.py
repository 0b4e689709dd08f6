"""Load a data source into a validated :class:`Dataset`.

Validation happens here, once, at the edge: code behind the loader trusts the
data. Every failure raises one :class:`~kpilib._errors.ContractError` naming the
table, the column, the rule and the offending rows as they are numbered in the
file (CSV: line numbers, the header being line 1; Parquet: record numbers from 1).
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._contract import TABLES, Column, Table
from ._errors import ContractError, KpiError
from ._paths import SAMPLE_DATA_DIR

if TYPE_CHECKING:
    import pandera.pandas as pa

_MONTH_TEXT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_NUMERIC_KINDS = {"money", "count", "number"}


class ContractWarning(UserWarning):
    """Data that is accepted but probably not what the user meant (e.g. an extra column)."""


@dataclass(frozen=True)
class Dataset:
    """The validated tables of one data source.

    Attributes
    ----------
    tables
        Contract table name -> DataFrame, for the tables the source provides.
    source
        Where the data came from, safe to print (never holds credentials).
    base_currency
        Currency every amount is reported in.
    notes
        Warnings raised while loading (unknown columns...), for the report.
    """

    tables: dict[str, pd.DataFrame]
    source: str
    base_currency: str = "USD"
    notes: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.tables

    def get(self, name: str) -> pd.DataFrame | None:
        """The table, or ``None`` when the source lacks this optional table."""
        return self.tables.get(name)

    def require(self, name: str) -> pd.DataFrame:
        """The table, or a :class:`KpiError` saying plainly that it is missing."""
        if name not in self.tables:
            raise KpiError(f"this analysis needs the '{name}' table, which {self.source} does not provide")
        return self.tables[name]

    @property
    def customers(self) -> pd.DataFrame:
        return self.tables["customers"]

    @property
    def subscriptions(self) -> pd.DataFrame:
        return self.tables["subscriptions"]

    @property
    def fx_rates(self) -> pd.DataFrame | None:
        return self.tables.get("fx_rates")

    @property
    def data_end(self) -> pd.Timestamp:
        """The last day the data describe.

        The latest dated event in any table: subscription starts, account
        creation, lead and survey dates, traffic and activity days, and the last
        day of the latest month in monthly tables. Future-dated subscription ends
        (scheduled cancellations) do not extend it.
        """
        ends: list[pd.Timestamp] = []
        for name, df in self.tables.items():
            if df.empty:
                continue
            for col in TABLES[name].columns:
                if col.name not in df.columns or col.name == "end_date":
                    continue
                if col.kind == "date":
                    ends.append(df[col.name].max())
                elif col.kind == "month":
                    ends.append(df[col.name].max().end_time.normalize())
        return max(pd.Timestamp(t) for t in ends if pd.notna(t))

    @property
    def data_start(self) -> pd.Timestamp:
        """The first subscription start."""
        return pd.Timestamp(self.subscriptions["start_date"].min())

    def segments(self, column: str = "segment") -> list[str]:
        return sorted(self.customers[column].dropna().unique().tolist())

    def filter(self, **criteria: str | None) -> Dataset:
        """Keep only accounts matching every criterion; ``None``/``"all"`` means no filter.

        Criteria are customers columns (``segment``, ``region``,
        ``acquisition_channel``) or ``plan`` (subscription lines). Customer-keyed
        tables (customers, subscriptions, product_usage, nps/ces responses) are
        filtered; company-wide tables (leads, web traffic, spend, activities,
        financials, eNPS) are left whole.
        """
        active = {k: v for k, v in criteria.items() if v not in (None, "", "all")}
        if not active:
            return self
        customers = self.customers
        subs = self.subscriptions
        for column, value in active.items():
            if column == "plan":
                known = subs["plan"]
                subs = subs[subs["plan"] == value]
            elif column in customers.columns:
                known = self.customers[column]
                customers = customers[customers[column] == value]
            else:
                raise KpiError(f"cannot filter on {column!r}: use segment, region, acquisition_channel or plan")
            if not (known == value).any():
                choices = ", ".join(sorted(known.dropna().unique().tolist()))
                raise KpiError(f"no accounts with {column} = {value!r}; known values: {choices}")
        keep = set(customers["customer_id"]) & set(subs["customer_id"]) if "plan" in active \
            else set(customers["customer_id"])
        tables = dict(self.tables)
        tables["customers"] = customers[customers["customer_id"].isin(keep)]
        tables["subscriptions"] = subs[subs["customer_id"].isin(keep)]
        if "product_usage" in tables:
            pu = tables["product_usage"]
            tables["product_usage"] = pu[pu["customer_id"].isin(keep)]
        if "leads" in tables and "segment" in tables["leads"].columns and set(active) == {"segment"}:
            leads = tables["leads"]  # leads that carry a segment belong to it, like its accounts
            tables["leads"] = leads[leads["segment"] == active["segment"]]
        if "survey_responses" in tables:
            sr = tables["survey_responses"]
            customer_survey = sr["survey"] != "enps"
            tables["survey_responses"] = sr[~customer_survey | sr["respondent_id"].isin(keep)]
        return replace(self, tables=tables, filters={**self.filters, **active})


# --------------------------------------------------------------------------- reading


def _find_file(directory: Path, table: str) -> Path | None:
    found = [p for p in (directory / f"{table}.csv", directory / f"{table}.parquet") if p.exists()]
    if len(found) > 1:
        raise ContractError(table, None, "both a .csv and a .parquet file exist; keep exactly one",
                            file=str(directory))
    return found[0] if found else None


_MAGIC = {b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive", b"BZh": "bzip2-compressed",
          b"\xfd7zXZ": "xz-compressed"}


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise ContractError(table, None, "file is empty: it needs at least a header row", file=str(path))
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            raise ContractError(table, None, f"file is {kind}, not CSV text: decompress it first",
                                rows=[1], file=str(path))
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(b"\x00") > len(raw[:200]) // 4:
        raise ContractError(table, None, "file is UTF-16 text: re-save it as UTF-8 (CSV UTF-8 in Excel)",
                            rows=[1], file=str(path))
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is harmless: accept it
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContractError(
            table, None,
            f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded); "
            "re-save it as UTF-8 (it is probably Latin-1/Windows-1252)",
            rows=[line], file=str(path),
        ) from None
    header = text.split("\n", 1)[0]
    for delimiter, name in ((";", "semicolon"), ("\t", "tab")):
        if delimiter in header and "," not in header:
            raise ContractError(table, None,
                                f"file looks {name}-delimited; the contract expects comma-separated CSV",
                                rows=[1], file=str(path))
    records = [(i, row) for i, row in _records(text)]
    names = [c.strip() for c in (records[0][1] if records else [])]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ContractError(table, repeated[0], "column name appears more than once in the header",
                            rows=[1], file=str(path))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        rows = [int(match[1])] if match else []
        raise ContractError(table, None, f"CSV cannot be parsed: {exc}".rstrip(), rows=rows,
                            file=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    lines = np.array([line for line, _ in records[1:]], dtype=np.int64)
    if len(lines) == len(df):  # the file line where each record starts, for messages
        df.attrs["lines"] = lines
    return df


def _records(text: str):
    """(starting line, fields) of each non-blank CSV record: quoted newlines span lines."""
    import csv

    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for row in reader:
            if row and any(field != "" for field in row) or (row and len(row) > 1):
                yield start, row
            start = reader.line_num + 1
    except csv.Error:  # pandas decides below whether the file parses; rows then count from 2
        return


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise ContractError(table, None, f"Parquet file cannot be read: {exc}", file=str(path)) from None


# --------------------------------------------------------------------------- typing


def _rows(mask: pd.Series | np.ndarray, offset: int | np.ndarray) -> list[int]:
    """Row numbers as the user counts them: ``offset`` is the first data row's number, or the
    line number of every record (CSV files whose quoted fields span lines)."""
    positions = np.flatnonzero(np.asarray(mask))
    if isinstance(offset, np.ndarray):
        return offset[positions].tolist()
    return (positions + offset).tolist()


def _coerce_column(s: pd.Series, col: Column, table: str, offset: int, file: str,
                   from_parquet: bool) -> pd.Series:
    """Parse one column to its contract type, naming the rows that do not parse."""
    present = s.notna()
    if col.kind in _NUMERIC_KINDS:
        if from_parquet and not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            raise ContractError(table, col.name, f"must be numeric ({col.type_name}); "
                                f"the Parquet column has type {s.dtype}", file=file)
        out = pd.to_numeric(s, errors="coerce")
        bad = present & out.isna()
        if bad.any():
            raise ContractError(table, col.name, f"values must be numbers ({col.type_name})",
                                _rows(bad, offset), file)
        infinite = out.notna() & ~np.isfinite(out.astype("float64"))
        if infinite.any():
            raise ContractError(table, col.name, "values must be finite numbers (not inf or NaN)",
                                _rows(infinite, offset), file)
        if col.kind == "count":
            frac = out.notna() & (out != np.floor(out.fillna(0)))
            if frac.any():
                raise ContractError(table, col.name, "values must be whole numbers",
                                    _rows(frac, offset), file)
            return out.astype("Int64")
        return out.astype("float64")
    if col.kind == "date":
        if from_parquet and not pd.api.types.is_datetime64_any_dtype(s):
            if not s.dropna().map(lambda v: isinstance(v, (date, datetime))).all():
                raise ContractError(table, col.name, "must be a date or timestamp; the Parquet column "
                                    f"has type {s.dtype}", file=file)
            s = pd.to_datetime(s)
        text = s.astype("str").where(present) if not pd.api.types.is_datetime64_any_dtype(s) else s
        # ISO 8601 with a time or an offset (mixed offsets too) is normalised to UTC, then to the date
        out = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True) \
            if not pd.api.types.is_datetime64_any_dtype(s) else s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        bad = present & out.isna()
        if bad.any():
            raise ContractError(table, col.name, "dates must parse as YYYY-MM-DD",
                                _rows(bad, offset), file)
        return out.dt.normalize().astype("datetime64[us]")
    if col.kind == "month":
        if pd.api.types.is_datetime64_any_dtype(s):
            return s.dt.to_period("M")
        text = s.astype("str")
        bad = present & ~text.str.match(_MONTH_TEXT).fillna(False).astype(bool)
        if bad.any():
            raise ContractError(table, col.name, "months must look like YYYY-MM",
                                _rows(bad, offset), file)
        return pd.PeriodIndex(text.where(present), freq="M").to_series(index=s.index)
    # id, text, enum
    if from_parquet and not (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
        if col.kind != "id":
            raise ContractError(table, col.name, f"must be text; the Parquet column has type {s.dtype}",
                                file=file)
    out = s.astype("str").where(present).str.strip()
    return out.where(out != "").astype("str")  # whitespace-only text is empty, not a value


def _schema(table: Table, present: Iterable[str]) -> pa.DataFrameSchema:
    import pandera.pandas as pa  # imported when validating: a kernel reading a snapshot never needs it

    columns = {}
    for col in table.columns:
        if col.name not in present:
            continue
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min, error=f">= {col.min:g}"))
        if col.upper is not None:
            checks.append(pa.Check.le(col.upper, error=f"<= {col.upper:g}"))
        if col.values:
            checks.append(pa.Check.isin(list(col.values), error="one of " + " | ".join(col.values)))
        if col.pattern:
            checks.append(pa.Check.str_matches(col.pattern, error="an ISO 4217 code (3 capital letters)"))
        columns[col.name] = pa.Column(checks=checks, nullable=col.nullable, required=False)
    return pa.DataFrameSchema(columns, unique=list(table.key), strict=False, report_duplicates="all")


def _rule_text(check: str, column: str | None, key: tuple[str, ...]) -> str:
    if check == "not_nullable":
        return "must not be empty"
    if check in ("field_uniqueness", "multiple_fields_uniqueness") or check.startswith("duplicates"):
        return f"key ({', '.join(key)}) must be unique: duplicate values"
    return f"values must be {check}"


def _validate_values(df: pd.DataFrame, table: Table, offset: int, file: str) -> None:
    from pandera.errors import SchemaErrors

    try:
        _schema(table, df.columns).validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        first = fc.iloc[0]
        same = fc[(fc["check"] == first["check"]) & (fc["column"].astype(str) == str(first["column"]))]
        rows = sorted(set(_rows(np.isin(np.arange(len(df)), same["index"].dropna().astype(int)), offset)))
        column = first["column"] if isinstance(first["column"], str) and first["column"] in df.columns else None
        uniqueness = "uniqueness" in str(first["check"]) or str(first["check"]).startswith("duplicates")
        if uniqueness:
            column = table.key[0] if len(table.key) == 1 else None
        raise ContractError(table.name, column, _rule_text(str(first["check"]), column, table.key),
                            rows, file) from None


def _load_table(path: Path, table: Table) -> tuple[pd.DataFrame, list[str], int]:
    from_parquet = path.suffix == ".parquet"
    raw = _read_parquet(path, table.name) if from_parquet else _read_csv(path, table.name)
    offset = 1 if from_parquet else raw.attrs.get("lines", 2)
    df, notes = validate_frame(raw, table, offset=offset, where=str(path), typed=from_parquet)
    return df, notes, offset


def validate_frame(raw: pd.DataFrame, table: Table, *, offset: int, where: str,
                   typed: bool) -> tuple[pd.DataFrame, list[str]]:
    """Check one raw table against its contract and return it with contract dtypes.

    Parameters
    ----------
    raw
        The table as read. ``typed=False``: every cell text (CSV). ``typed=True``:
        columns carry their source's types (Parquet, a database), which must match.
    offset
        Number of the first data row as the user counts them (CSV 2, Parquet 1).
    where
        The file or database table, for messages.
    """
    raw = raw.reset_index(drop=True)
    notes: list[str] = []
    known = set(table.column_names)
    for col in table.columns:
        if col.name not in raw.columns and not col.optional:
            hint = difflib.get_close_matches(col.name, [c for c in raw.columns if c not in known], n=1)
            did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ContractError(table.name, col.name, f"required column is missing{did_you_mean}",
                                file=where)
    for extra in (c for c in raw.columns if c not in known):
        notes.append(f"table '{table.name}': unknown column '{extra}' is ignored")
    if table.required and raw.empty:
        raise ContractError(table.name, None, "table has no rows", file=where)
    df = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for col in table.columns:
        if col.name in raw.columns:
            df[col.name] = _coerce_column(raw[col.name], col, table.name, offset, where, typed)
    _validate_values(df, table, offset, where)
    return df, notes


# --------------------------------------------------------------------------- cross rules


def _check(table: str, column: str, rule: str, mask: pd.Series, offset: int, file: str) -> None:
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        raise ContractError(table, column, rule, _rows(mask, offset), file)


def _cross_rules(tables: dict[str, pd.DataFrame], offsets: dict[str, int], files: dict[str, str],
                 base_currency: str) -> None:
    subs = tables["subscriptions"]
    o, f = offsets["subscriptions"], files["subscriptions"]
    _check("subscriptions", "end_date", "end_date must be after start_date",
           subs["end_date"].notna() & (subs["end_date"] <= subs["start_date"]), o, f)
    fx = tables.get("fx_rates")
    if fx is not None:
        if base_currency not in set(fx["currency"]):
            raise ContractError("fx_rates", "currency",
                                f"the base currency {base_currency} has no rate", file=files["fx_rates"])
        _check("fx_rates", "rate_to_base", "rates must be > 0", fx["rate_to_base"] <= 0,
               offsets["fx_rates"], files["fx_rates"])
        rated = set(fx["currency"])
    else:
        rated = {base_currency}
    _check("subscriptions", "currency",
           "every currency needs a rate in fx_rates" if fx is not None
           else f"amounts not in {base_currency} need an fx_rates table",
           ~subs["currency"].isin(rated), o, f)

    for name in ("leads", "marketing_spend", "financials"):
        df = tables.get(name)
        if df is not None and "currency" in df.columns:
            _check(name, "currency", "every currency needs a rate in fx_rates" if fx is not None
                   else f"amounts not in {base_currency} need an fx_rates table",
                   df["currency"].notna() & ~df["currency"].isin(rated), offsets[name], files[name])

    customers = set(tables["customers"]["customer_id"])
    for name, df in tables.items():
        spec = TABLES[name]
        for column, parent in spec.foreign_keys.items():
            if column in df.columns:
                orphan = df[column].notna() & ~df[column].isin(customers)
                _check(name, column, f"values must exist in {parent}.customer_id", orphan,
                       offsets[name], files[name])

    if "leads" in tables:
        leads, o, f = tables["leads"], offsets["leads"], files["leads"]
        _check("leads", "outcome", "outcome must be set exactly when closed_at is set",
               leads["outcome"].isna() != leads["closed_at"].isna(), o, f)
        _check("leads", "closed_at", "closed_at must not be before created_at",
               leads["closed_at"] < leads["created_at"], o, f)
        for stage in ("mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at"):
            if stage in leads.columns:
                _check("leads", stage, f"{stage} must not be before created_at",
                       leads[stage] < leads["created_at"], o, f)
    if "web_traffic" in tables:
        web = tables["web_traffic"]
        _check("web_traffic", "bounced_sessions", "bounced_sessions must not exceed sessions",
               web["bounced_sessions"] > web["sessions"], offsets["web_traffic"], files["web_traffic"])
    if "survey_responses" in tables:
        sr = tables["survey_responses"]
        _check("survey_responses", "score", "ces scores must be 1-7",
               (sr["survey"] == "ces") & ~sr["score"].between(1, 7),
               offsets["survey_responses"], files["survey_responses"])


# --------------------------------------------------------------------------- entry point


def load_dataset(source: str | Path | None = None, *, base_currency: str = "USD") -> Dataset:
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

    Returns
    -------
    Dataset

    Raises
    ------
    ContractError
        On the first contract violation, naming table, column, rule and rows.
    """
    if source == "database" or (isinstance(source, str) and "://" in source):
        from ._sources import is_database_url, load_database

        if source == "database" or is_database_url(source):
            url = None if source == "database" else source  # None: the URL stays in KPI_DATABASE_URL
            try:
                return load_database(url, base_currency=base_currency)
            except ValueError as exc:  # e.g. a port that is not a number: a bad URL, not a kit bug
                from ._sources import mask_url

                shown = mask_url(url) if url else "in KPI_DATABASE_URL"
                raise KpiError(f"the database URL {shown} cannot be used: {exc}") from None
    if isinstance(source, str) and not source.strip():
        raise KpiError("the data source is empty: name a folder or a database URL, or leave it out "
                       "for the bundled sample company")
    directory = SAMPLE_DATA_DIR if source in (None, "sample") else Path(source).expanduser()
    label = "the bundled sample company" if directory == SAMPLE_DATA_DIR else str(directory)
    if not directory.is_dir():
        raise KpiError(f"data source {str(directory)!r} is not a folder")
    tables: dict[str, pd.DataFrame] = {}
    offsets: dict[str, int] = {}
    files: dict[str, str] = {}
    notes: list[str] = []
    for name, spec in TABLES.items():
        path = _find_file(directory, name)
        if path is None:
            if spec.required:
                raise ContractError(name, None, f"required table is missing: expected {name}.csv or "
                                    f"{name}.parquet in {directory}")
            continue
        tables[name], table_notes, offsets[name] = _load_table(path, spec)
        files[name] = str(path)
        notes.extend(table_notes)
    return finish_dataset(tables, offsets=offsets, wheres=files, notes=notes, source=label,
                          base_currency=base_currency)


def finish_dataset(tables: dict[str, pd.DataFrame], *, offsets: dict[str, int], wheres: dict[str, str],
                   notes: list[str], source: str, base_currency: str) -> Dataset:
    """Apply the rules across tables to tables checked by :func:`validate_frame`; build the Dataset.

    Every source (folder, database) ends here, so all get the same rules.
    """
    base_currency = base_currency.strip().upper()
    for name, spec in TABLES.items():
        if spec.required and name not in tables:
            raise ContractError(name, None, f"required table is missing from {source}")
    _cross_rules(tables, offsets, wheres, base_currency)
    for note in notes:
        warnings.warn(note, ContractWarning, stacklevel=3)
    return Dataset(tables=tables, source=source, base_currency=base_currency, notes=tuple(notes))
