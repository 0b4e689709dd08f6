"""Fuzzing the loader: whatever bytes a table file holds, the kit raises only its own errors."""

from __future__ import annotations

import shutil
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpilib import KpiError, load_dataset
from kpilib.data.contract import TABLES

from conftest import TINY

pytestmark = pytest.mark.slow  # 190 random files, each loaded in full

HEADERS = {name: ",".join(rows[0]) for name, rows in TINY.items()}
cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "NA", "-1", "1e309", "2024-02-30", "nan",
                                                        "2024-01", "USD", "won", "0x10", '"', "\x00"]))


@st.composite
def csv_text(draw, table: str):
    columns = HEADERS[table].split(",")
    if draw(st.booleans()):
        columns = draw(st.lists(st.sampled_from(columns + ["junk", ""]), min_size=0, max_size=len(columns) + 2))
    rows = draw(st.lists(st.lists(cell, min_size=len(columns), max_size=len(columns)), max_size=6))
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    return "\n".join([sep.join(columns), *(sep.join(r) for r in rows)]) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), table=st.sampled_from(list(TABLES)))
def test_any_table_text_raises_only_kit_errors(tiny_dir, tmp_path_factory, data, table):
    d = tmp_path_factory.mktemp("fuzz")
    for f in tiny_dir.iterdir():
        shutil.copy(f, d / f.name)
    payload = data.draw(st.one_of(csv_text(table), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
    encoding = data.draw(st.sampled_from(["utf-8", "latin-1", "utf-8-sig"]))
    (d / f"{table}.csv").write_bytes(payload.encode(encoding, errors="replace"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_dataset(d)
        except KpiError:
            pass  # a clear, kit-owned error is the expected outcome for bad input


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_random_parquet_bytes_raise_only_kit_errors(tiny_dir, tmp_path_factory, raw):
    d = tmp_path_factory.mktemp("fuzzpq")
    for f in tiny_dir.iterdir():
        shutil.copy(f, d / f.name)
    (d / "fx_rates.csv").unlink()
    (d / "fx_rates.parquet").write_bytes(b"PAR1" + raw + b"PAR1")
    try:
        load_dataset(d)
    except KpiError:
        pass
