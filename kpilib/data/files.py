"""Reading a folder of CSV or Parquet files, one per contract table, with clear refusals for
files that are not what they claim (compressed, another encoding, ragged rows)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ContractError
from .contract import TABLES, Table
from .dataset import Dataset
from .goals import FILE_NAME as GOALS_FILE
from .goals import attach_goals
from .validation import RowOffset, finish_dataset, validate_frame

# --------------------------------------------------------------------------- reading


def _find_file(directory: Path, table: str) -> Path | None:
    found = [p for p in (directory / f"{table}.csv", directory / f"{table}.parquet") if p.exists()]
    if len(found) > 1:
        raise ContractError(table, None, "both a .csv and a .parquet file exist; keep exactly one",
                            file=str(directory))
    return found[0] if found else None


_MAGIC = {b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive", b"BZh": "bzip2-compressed",
          b"\xfd7zXZ": "xz-compressed"}


def _read_csv(path: Path, table: str) -> tuple[pd.DataFrame, RowOffset]:
    """The file's records as text, and the file line where each starts (for messages; 2, the first
    record's line, when they cannot be told apart). The lines travel beside the frame, not in its
    ``attrs``: pandas deep-copies ``attrs`` into the result of every operation, so an array of one
    entry per row there was copied again by each step of the validation."""
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
    header_fields, starts = _record_starts(text)
    names = [c.strip() for c in header_fields]
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
    lines = np.array(starts[1:], dtype=np.int64)
    return df, (lines if len(lines) == len(df) else 2)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what the csv module ends a line at (newline="")


def _record_starts(text: str) -> tuple[list[str], list[int]]:
    """The header's fields and the line where each non-blank record starts (the header's first).

    Without quotes (which may hold a newline) or NUL characters (which stop the csv module), a
    record is a non-empty line, split at commas: that is read without the csv module, about ten
    times faster; otherwise :func:`_records` reads it."""
    if '"' in text or "\x00" in text:
        records = list(_records(text))
        return (records[0][1] if records else []), [line for line, _ in records]
    lines = _LINE_BREAK.split(text)
    starts = [number for number, line in enumerate(lines, 1) if line]
    return (lines[starts[0] - 1].split(",") if starts else []), starts


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


def _load_table(path: Path, table: Table) -> tuple[pd.DataFrame, list[str], RowOffset]:
    from_parquet = path.suffix == ".parquet"
    raw, offset = (_read_parquet(path, table.name), 1) if from_parquet else _read_csv(path, table.name)
    df, notes = validate_frame(raw, table, offset=offset, where=str(path), typed=from_parquet)
    return df, notes, offset


def load_folder(directory: Path, label: str, *, base_currency: str, skip: Iterable[str] = ()) -> Dataset:
    """Read and validate one ``<table>.csv`` or ``<table>.parquet`` per contract table in ``directory``
    (but the optional tables in ``skip``), and its optional ``goals.yaml``
    (:func:`kpilib.data.goals.read_goals`)."""
    tables: dict[str, pd.DataFrame] = {}
    offsets: dict[str, RowOffset] = {}
    files: dict[str, str] = {}
    notes: list[str] = []
    for name, spec in TABLES.items():
        if name in skip and not spec.required:
            continue
        path = _find_file(directory, name)
        if path is None:
            if spec.required:
                raise ContractError(name, None, f"required table is missing: expected {name}.csv or "
                                    f"{name}.parquet in {directory}")
            continue
        tables[name], table_notes, offsets[name] = _load_table(path, spec)
        files[name] = str(path)
        notes.extend(table_notes)
    dataset = finish_dataset(tables, offsets=offsets, wheres=files, notes=notes, source=label,
                             base_currency=base_currency)
    if not (directory / GOALS_FILE).is_file():
        return dataset
    return attach_goals(dataset, directory / GOALS_FILE)  # optional: targets and annotations
