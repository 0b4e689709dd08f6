"""Every notebook follows the kit's shape: parameters papermill can read, then the model, the
header and the page's title and introduction (kpi.section, in the reader's language), python3 kernel."""

from __future__ import annotations

import ast
import logging

import nbformat
import papermill as pm
import pytest

from kpilib.paths import NOTEBOOKS_DIR
from kpilib.report.sitemap import NOTEBOOKS

PARAMETERS = {"period": "2025-12", "data": "sample", "base_currency": "USD", "segment": "all", "lang": "en"}


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_shape(name, caplog):
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "parameters" in nb.cells[0].metadata.get("tags", [])
    assert nb.cells[2].source == f'kpi.section("{name}")', "the title and introduction follow the header"
    assert not [c for c in nb.cells if c.cell_type != "code"], (
        "a markdown cell's words cannot be translated: put them in kpilib/report/sections.py")
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


# A rendering notebook only calls kpilib: no arithmetic, aggregation, comparison, format, threshold,
# typed sentence or reshaping of its own. Checked on the syntax tree of every code cell.
SETUP = ("import kpilib as kpi", "m = kpi.KpiModel.load(", "kpi.page_header(m, ")


def _renders_only(node: ast.AST) -> bool:
    """A call of ``kpi.<name>`` or ``m.<name>`` whose arguments are ``m``, constants or such calls."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, str) or len(node.value) <= 40  # a key or an id, not a sentence
    if isinstance(node, ast.Name):
        return node.id == "m"
    if isinstance(node, ast.List):
        return all(_renders_only(e) for e in node.elts)
    if isinstance(node, ast.Attribute):  # m.period, m.base_currency
        return isinstance(node.value, ast.Name) and node.value.id == "m"
    if isinstance(node, ast.Call):
        f = node.func
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("kpi", "m")):
            return False
        return all(_renders_only(a) for a in node.args) and all(_renders_only(k.value) for k in node.keywords)
    return False


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebooks_only_render(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells[1:] if c.cell_type == "code"]
    assert all(s in code[0] for s in SETUP), "the first code cell loads the model and writes the header"
    for source in code[1:]:
        for statement in ast.parse(source).body:
            assert isinstance(statement, ast.Expr) and _renders_only(statement.value), (
                f"{name}: a cell does more than call kpilib (compute, format or judge in kpilib):\n{source}")


def test_the_render_only_rule_catches_what_it_forbids():
    forbidden = ['kpi.table(m.revenue["mrr"] * 12, m, "x")', "ax.axhline(0.5)",
                 'kpi.note("Churn is healthy this month, well below the band.")',
                 'kpi.table(m.movers(8).sort_values("change"), m, "x")', "x = m.revenue",
                 'kpi.chart(m, f"{m.period}")', 'kpi.table(kpi.x(m), m, "x") if m else None']
    for source in forbidden:
        tree = ast.parse(source).body[0]
        assert not (isinstance(tree, ast.Expr) and _renders_only(tree.value)), source
    assert _renders_only(ast.parse('kpi.table(kpi.funnel_table(m), m, "funnel", hide_index=True)').body[0].value)


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_titles_are_written_by_functions(name):
    """``title=`` and ``suptitle`` take a kpilib.titles call or a label without a claim."""
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    claims = ("largest", "best", "most", "grew", "fell", "higher", "lower", "healthy")
    for cell in nb.cells[1:]:
        for line in cell.source.splitlines():
            if "title=" in line and "kpi.titles." not in line:
                assert not any(w in line.lower() for w in claims), f"{name}: a claim typed by hand: {line}"
