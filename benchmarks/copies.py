"""k copies of the sample company for scale benchmarks: ids distinct per copy, company-wide totals x k.

    .venv/bin/python benchmarks/copies.py 10        # -> benchmarks/data/copies-10-parquet/

The rule comes from the data contract (kpilib.data.contract), so a new table or column follows it:

* a table with ``id`` columns (customers, subscriptions, leads, survey_responses, product_usage) is
  written k times, every id column suffixed ``-k1`` ... ``-kK`` (foreign keys get the same suffix, so
  they resolve within their copy; empty ids stay empty);
* a table without ids is company-wide by nature (web_traffic, marketing_spend, sales_activities,
  financials, fx_rates): its rows are written once, keys unchanged, and its money and count columns
  are multiplied by k (fx_rates has neither and is copied as it is).

Every per-account figure of copy j is then that of the sample and every total is k times the sample's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kpilib.data.contract import TABLES, Table

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "data" / "sample"
CACHE = HERE / "data"  # git-ignored (.gitignore: benchmarks/data/)
VERSION = "1"  # bump when the copying rule changes: cached folders are rebuilt
_DONE = ".copies-done"  # written last: a folder without it is incomplete and rebuilt

_ARROW = {"id": pa.string(), "text": pa.string(), "enum": pa.string(), "month": pa.string(),
          "date": pa.timestamp("us"), "money": pa.float64(), "number": pa.float64(), "count": pa.int64()}


def id_columns(table: Table) -> list[str]:
    """The columns made distinct per copy: every ``id`` column of the contract table."""
    return [c.name for c in table.columns if c.kind == "id"]


def scaled_columns(table: Table) -> list[str]:
    """The columns multiplied by k in a company-wide table: its money and count columns."""
    return [c.name for c in table.columns if c.kind in ("money", "count")]


def read_sample(table: Table, folder: Path = SAMPLE) -> pa.Table:
    """One sample CSV as an Arrow table with the contract's physical types.

    Numbers are numeric (counts int64), dates timestamps, months ``YYYY-MM`` text, the rest text.
    """
    raw = pd.read_csv(folder / f"{table.name}.csv", dtype=str, keep_default_na=False, na_values=[""])
    arrays, fields = [], []
    for col in table.columns:
        if col.name not in raw.columns:  # optional column absent from the sample
            continue
        s = raw[col.name]
        if col.kind == "date":
            s = pd.to_datetime(s, format="%Y-%m-%d")
        elif col.kind in ("money", "number"):
            s = pd.to_numeric(s).astype("float64")
        elif col.kind == "count":
            s = pd.to_numeric(s).astype("Int64")
        arrays.append(pa.array(s, type=_ARROW[col.kind], from_pandas=True))
        fields.append(pa.field(col.name, _ARROW[col.kind]))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def copy_of(sample: pa.Table, table: Table, j: int) -> pa.Table:
    """Copy ``j`` (from 1) of a table with ids: every id column suffixed ``-kj``."""
    out = sample
    for name in id_columns(table):
        i = out.schema.get_field_index(name)
        out = out.set_column(i, name, pc.binary_join_element_wise(out[name], pa.scalar(f"-k{j}"), ""))
    return out


def scaled(sample: pa.Table, table: Table, k: int) -> pa.Table:
    """A company-wide table for k copies: money x k (to the cent), counts x k."""
    out = sample
    for name in scaled_columns(table):
        if name not in out.column_names:
            continue
        i = out.schema.get_field_index(name)
        col = pc.multiply(out[name], k)
        if pa.types.is_floating(col.type):
            col = pc.round(col, 2)  # sample amounts are cents: k x them is cents too
        out = out.set_column(i, name, col)
    return out


def _writer(path: Path, schema: pa.Schema, fmt: str) -> pq.ParquetWriter | pacsv.CSVWriter:
    if fmt == "parquet":
        return pq.ParquetWriter(path, schema)
    return pacsv.CSVWriter(path, _csv_schema(schema))


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """Dates as date32 in CSV, so that they are written ``YYYY-MM-DD``."""
    return pa.schema([pa.field(f.name, pa.date32()) if pa.types.is_timestamp(f.type) else f for f in schema])


def _for(fmt: str, t: pa.Table) -> pa.Table:
    return t if fmt == "parquet" else t.cast(_csv_schema(t.schema))


def write_copies(k: int, out_dir: str | Path, fmt: str = "parquet") -> Path:
    """Write k copies of every table of data/sample into ``out_dir``, one ``<table>.<fmt>`` each.

    Tables with ids are written k times with ids suffixed per copy; company-wide tables (no ids)
    once, with their money and count columns multiplied by k (see the module docstring).
    Returns ``out_dir``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLES.values():
        if not (SAMPLE / f"{table.name}.csv").exists():
            continue
        sample = read_sample(table)
        path = out / f"{table.name}.{fmt}"
        if not id_columns(table):
            (pq.write_table if fmt == "parquet" else pacsv.write_csv)(_for(fmt, scaled(sample, table, k)), path)
            continue
        if not set(id_columns(table)) & set(table.key):
            raise AssertionError(f"{table.name}: key {table.key} holds no id column, copies would collide")
        writer = _writer(path, sample.schema, fmt)
        try:
            for j in range(1, k + 1):
                writer.write_table(_for(fmt, copy_of(sample, table, j)))
        finally:
            writer.close()
    return out


def _fingerprint(fmt: str) -> str:
    """Generator version, format and the sample's bytes: a cached folder is reused only if they match."""
    digest = hashlib.sha256(f"{VERSION}:{fmt}".encode())
    for path in sorted(SAMPLE.glob("*.csv")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def cached_copies(k: int, fmt: str = "parquet") -> Path:
    """``benchmarks/data/copies-<k>-<fmt>/``, written by :func:`write_copies` unless already current."""
    final = CACHE / f"copies-{k}-{fmt}"
    marker = final / _DONE
    stamp = _fingerprint(fmt)
    if marker.exists() and marker.read_text() == stamp:
        return final
    staging = CACHE / f".copies-{k}-{fmt}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    write_copies(k, staging, fmt)
    (staging / _DONE).write_text(stamp)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("k", type=int, help="number of copies")
    parser.add_argument("--out", help="output folder (default: the cache, benchmarks/data/copies-<k>-<fmt>/)")
    parser.add_argument("--fmt", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args()
    print(write_copies(args.k, args.out, args.fmt) if args.out else cached_copies(args.k, args.fmt))


if __name__ == "__main__":
    main()
