"""Every notebook follows the kit's shape: title, parameters papermill can read, python3 kernel."""

from __future__ import annotations

import logging

import nbformat
import papermill as pm
import pytest

from kpilib.paths import NOTEBOOKS_DIR
from kpilib.report.runner import NOTEBOOKS

PARAMETERS = {"period": "2025-12", "data": "sample", "base_currency": "USD", "segment": "all"}


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_shape(name, caplog):
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    with caplog.at_level(logging.WARNING, logger="papermill"):
        inferred = pm.inspect_notebook(str(path))
    assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()]
    assert {k: v["default"].strip('"') for k, v in inferred.items()} == PARAMETERS
    assert all(v["help"] for v in inferred.values()), "every parameter documents itself"


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_no_volatile_metadata(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.execution_count is not None, "stored outputs missing: run `make notebooks`"
            for out in cell.outputs:
                assert "image/svg+xml" not in out.get("data", {}), "SVG embeds a date: use PNG"
                assert out.get("name") != "stderr", f"stderr output in {name}: fix the warning"


# What a rendering notebook may not do: compute KPIs, aggregate, format numbers or judge health.
FORBIDDEN = {
    ".groupby(": "aggregation belongs in kpilib",
    ".agg(": "aggregation belongs in kpilib",
    ".sum(": "arithmetic over data belongs in kpilib",
    ".mean(": "arithmetic over data belongs in kpilib",
    ".pivot": "reshaping data belongs in kpilib",
    "${": "money is formatted by kpilib for the base currency",
    '"{:': "formats come from the column's unit in kpilib",
    "else 0.8": "a default gross margin belongs in kpilib",
    "1.10 **": "a discount rate belongs in kpilib",
    ">= 3": "health thresholds live in the KPI registry",
    "load_dataset(": "notebooks read the KpiModel, which applies the as-of rule",
}


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebooks_only_render(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells[2:] if c.cell_type == "code"]
    for source in code:
        for pattern, why in FORBIDDEN.items():
            assert pattern not in source, f"{name}: {pattern!r} in a cell ({why}):\n{source}"
    assert "kpi.KpiModel.load(" in code[0] and "page_header(m" in code[0]


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_titles_are_written_by_functions(name):
    """``title=`` and ``suptitle`` take a kpilib.titles call or a label without a claim."""
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    claims = ("largest", "best", "most", "grew", "fell", "higher", "lower", "healthy")
    for cell in nb.cells[2:]:
        for line in cell.source.splitlines():
            if "title=" in line and "kpi.titles." not in line:
                assert not any(w in line.lower() for w in claims), f"{name}: a claim typed by hand: {line}"
