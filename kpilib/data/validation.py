"""Validation, once, at the edge: code behind it trusts the data.

Every source (folder, database) ends in :func:`validate_frame` per table and :func:`finish_dataset`
for the rules across tables. A failure raises one :class:`~kpilib.ContractError` naming the table,
the column, the rule and the offending rows as they are numbered in the source (CSV: line numbers,
the header being line 1; Parquet and databases: record numbers from 1).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ContractError
from .contract import TABLES, Column, Table
from .dataset import ContractWarning, Dataset, is_member

if TYPE_CHECKING:
    import pandera.pandas as pa


# --------------------------------------------------------------------------- typing

_MONTH_TEXT = re.compile(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])\Z")  # year 0001 on, as dates: no year 0
_NUMERIC_KINDS = {"money", "count", "number"}


#: Where a table's records are in its source, for messages: the first data row's number, or the
#: line each record starts at (a CSV file, whose blank lines and quoted line breaks make them differ).
RowOffset = int | np.ndarray


def _rows(mask: pd.Series | np.ndarray, offset: RowOffset) -> list[int]:
    """Row numbers as the user counts them: ``offset`` is the first data row's number, or the
    line number of every record (CSV files whose quoted fields span lines)."""
    positions = np.flatnonzero(np.asarray(mask))
    if isinstance(offset, np.ndarray):
        return offset[positions].tolist()
    return (positions + offset).tolist()


def _coerce_column(s: pd.Series, col: Column, table: str, offset: RowOffset, file: str,
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
        # each distinct month checked and parsed once: millions of rows repeat a few dozen months
        text = s.astype("str")
        codes, months = pd.factorize(text if present.all() else text.where(present))
        shaped = np.append(np.asarray(months.str.match(_MONTH_TEXT), dtype=bool), True)
        bad = ~shaped[codes]  # code -1 (missing) takes the last flag: a missing month is not malformed
        if bad.any():
            raise ContractError(table, col.name, "months must look like YYYY-MM",
                                _rows(bad, offset), file)
        parsed = pd.PeriodIndex(months, freq="M").take(codes, allow_fill=True, fill_value=pd.NaT)
        return pd.Series(parsed, index=s.index)
    # id, text, enum
    if from_parquet and not (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
        if col.kind != "id":
            raise ContractError(table, col.name, f"must be text; the Parquet column has type {s.dtype}",
                                file=file)
    out = s.astype("str").where(present).str.strip()
    return out.where(out != "").astype("str")  # whitespace-only text is empty, not a value


def _pandera():
    """``pandera.pandas``, imported when validating (a kernel reading a snapshot never needs it).

    Without pandera's probe of ``pyspark.pandas``, about 0.13 s of every process that validates when
    pyspark is installed (the test extra installs it): pandera imports it only so that pyspark's
    type hints on pandas frames come first, the kit never validates pyspark's pandas frames, and
    with pandas 3 the probe fails to import anyway. Once pyspark is imported (a Spark source),
    nothing is blocked."""
    import sys

    blocked = [] if "pandera.pandas" in sys.modules or "pyspark" in sys.modules else ["pyspark", "pyspark.pandas"]
    for name in blocked:
        sys.modules[name] = None  # None in sys.modules: "not installed"
    try:
        import pandera.pandas as pa
    finally:
        for name in blocked:
            del sys.modules[name]
    return pa


def _schema(table: Table, present: Iterable[str]) -> pa.DataFrameSchema:
    pa = _pandera()

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
    # the key's uniqueness is checked by _check_key (pandas' duplicated over several columns of
    # millions of rows took 6 s and most of the load's memory peak at 100 copies of the sample)
    return pa.DataFrameSchema(columns, strict=False)


def _rule_text(check: str, column: str | None, key: tuple[str, ...]) -> str:
    if check == "not_nullable":
        return "must not be empty"
    if check in ("field_uniqueness", "multiple_fields_uniqueness") or check.startswith("duplicates"):
        return f"key ({', '.join(key)}) must be unique: duplicate values"
    return f"values must be {check}"


def _validate_values(df: pd.DataFrame, table: Table, offset: RowOffset, file: str) -> None:
    schema = _schema(table, df.columns)
    from pandera.errors import SchemaErrors

    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        first = fc.iloc[0]
        same = fc[(fc["check"] == first["check"]) & (fc["column"].astype(str) == str(first["column"]))]
        rows = sorted(set(_rows(np.isin(np.arange(len(df)), same["index"].dropna().astype(int)), offset)))
        column = first["column"] if isinstance(first["column"], str) and first["column"] in df.columns else None
        uniqueness = "uniqueness" in str(first["check"]) or str(first["check"]).startswith("duplicates")
        key = table.key_in(df.columns)
        if uniqueness:
            column = key[0] if len(key) == 1 else None
        raise ContractError(table.name, column, _rule_text(str(first["check"]), column, key),
                            rows, file) from None


def duplicate_keys(df: pd.DataFrame, key: Iterable[str]) -> np.ndarray:
    """Rows whose key (one or more columns) another row has too, every occurrence: each key column
    factorized (an empty value is a value), the codes folded into one integer per row, which
    pandas' hash table then checks."""
    combined: np.ndarray | None = None
    size = 1  # how many distinct values the folded code can take
    for name in key:
        codes, uniques = pd.factorize(df[name], use_na_sentinel=False)
        if combined is None:
            combined, size = codes.astype("int64"), max(len(uniques), 1)
            continue
        if size * len(uniques) >= 2**62:  # folded again first, so that the code never overflows
            combined, found = pd.factorize(combined)
            size = max(len(found), 1)
        combined, size = combined * len(uniques) + codes, size * max(len(uniques), 1)
    if combined is None:
        return np.zeros(len(df), dtype=bool)
    if size <= 8 * len(combined) + (1 << 20):
        # one flag per possible key is small: when as many keys are set as there are rows, none is
        # twice (valid data, the usual case, in one pass instead of a hash table: 2 s -> 0.2 s for the
        # 11 million usage rows of 100 copies of the sample)
        seen = np.zeros(size, dtype=bool)
        seen[combined] = True
        if np.count_nonzero(seen) == len(combined):
            return np.zeros(len(df), dtype=bool)
    return pd.Series(combined).duplicated(keep=False).to_numpy()


def _check_key(df: pd.DataFrame, table: Table, offset: RowOffset, file: str) -> None:
    key = table.key_in(df.columns)
    if not key:
        return
    dup = duplicate_keys(df, key)
    if dup.any():
        column = key[0] if len(key) == 1 else None
        raise ContractError(table.name, column, _rule_text("multiple_fields_uniqueness", column, key),
                            sorted(set(_rows(dup, offset))), file)


def validate_frame(raw: pd.DataFrame, table: Table, *, offset: RowOffset, where: str,
                   typed: bool) -> tuple[pd.DataFrame, list[str]]:
    """Check one raw table against its contract and return it with contract dtypes.

    Parameters
    ----------
    raw
        The table as read. ``typed=False``: every cell text (CSV). ``typed=True``:
        columns carry their source's types (Parquet, a database), which must match.
    offset
        Number of the first data row as the user counts them (Parquet and databases 1, a CSV 2), or
        the file line of each record (a CSV read by :mod:`kpilib.data.files`).
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
    _check_key(df, table, offset, where)
    return df, notes


# --------------------------------------------------------------------------- cross rules


def _check(table: str, column: str, rule: str, mask: pd.Series, offset: RowOffset, file: str) -> None:
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        raise ContractError(table, column, rule, _rows(mask, offset), file)


def _check_data_currency(name: str, df: pd.DataFrame | None, fx: pd.DataFrame | None, offsets: Mapping[str, RowOffset],
                         files: dict[str, str]) -> None:
    """Amounts that name no currency are in the data currency: the fx_rates currency quoted at 1 in
    every row. Without exactly one such pivot they would silently take the base currency and every
    ratio would move with ``--base-currency``: refuse them instead."""
    from .currency import MONEY_COLUMNS

    if df is None or df.empty or fx is None or not any(c in df.columns for c in MONEY_COLUMNS[name]):
        return
    unnamed = df["currency"].isna() if "currency" in df.columns else pd.Series(True, index=df.index)
    unnamed &= df[[c for c in MONEY_COLUMNS[name] if c in df.columns]].notna().any(axis=1)
    if not unnamed.any():
        return
    one = pd.Series(np.isclose(fx["rate_to_base"].astype(float), 1.0), index=fx.index).groupby(fx["currency"]).all()
    pivots = sorted(one[one].index)
    if len(pivots) != 1:
        found = f"{len(pivots)} ({', '.join(pivots)})" if pivots else "none"
        raise ContractError(name, "currency", "amounts without a currency are in the data currency, the one "
                            f"fx_rates currency quoted at rate 1, but fx_rates has {found}: add a currency "
                            "column or quote every rate against one pivot currency",
                            _rows(unnamed.to_numpy(), offsets[name])[:5], files[name])


def _cross_rules(tables: dict[str, pd.DataFrame], offsets: Mapping[str, RowOffset], files: dict[str, str],
                 base_currency: str) -> None:
    subs = tables["subscriptions"]
    o, f = offsets["subscriptions"], files["subscriptions"]
    _check("subscriptions", "end_date", "end_date must be after start_date",
           subs["end_date"].notna() & (subs["end_date"] <= subs["start_date"]), o, f)
    fx = tables.get("fx_rates")
    if fx is not None:
        if base_currency not in set(fx["currency"]):
            raise ContractError("fx_rates", "currency",
                                f"the base currency {base_currency} has no rate (choose one of "
                                f"{', '.join(sorted(map(str, set(fx['currency']))))} with --base-currency, or "
                                f"add a row for {base_currency})", file=files["fx_rates"])
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
        _check_data_currency(name, df, fx, offsets, files)

    customers = tables["customers"]["customer_id"]
    for name, df in tables.items():
        spec = TABLES[name]
        for column, parent in spec.foreign_keys.items():
            if column in df.columns:
                orphan = df[column].notna() & ~is_member(df[column], customers)
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


def finish_dataset(tables: dict[str, pd.DataFrame], *, offsets: Mapping[str, RowOffset], wheres: dict[str, str],
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
