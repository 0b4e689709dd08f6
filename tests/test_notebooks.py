"""Every notebook follows the kit's shape: title, parameters papermill can read, python3 kernel."""

from __future__ import annotations

import logging

import nbformat
import papermill as pm
import pytest

from kpilib._paths import NOTEBOOKS_DIR
from kpilib._report import NOTEBOOKS

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
