"""The package layout: imports point down (data, then metrics, then report), with no cycles.

Every ``import`` counts, including those inside functions; only ``if TYPE_CHECKING:`` blocks
(annotations, never executed) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kpilib

PACKAGE = Path(kpilib.__file__).parent
#: Layer of each part of the package: a module may import only from its own layer or below.
LAYERS = {"errors": 0, "i18n": 0, "periods": 0, "paths": 0, "data": 1, "metrics": 2, "report": 3, "engine": 3, "cli": 4,
          "__init__": 4}
#: The one import that points up, on purpose: the sample company's generator uses the MRR
#: definition so that its financials agree with its subscriptions to the cent.
ALLOWED_UPWARD = {("data.sample", "metrics.mrr")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """The kpilib modules ``name`` imports (dotted, relative to the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    package = name.split(".")[:-1] if not name.endswith("__init__") else name.split(".")[:-1]
    found: set[str] = set()
    modules = _modules()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if node.module and node.module.startswith("kpilib."):
                base = node.module.split(".")[1:]
            else:
                continue
        else:
            base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
        for alias in node.names:
            candidate = ".".join(base + [alias.name])
            target = candidate if candidate in modules else ".".join(base)
            if target in modules and target != name:
                found.add(target)
            elif not base:  # ``from . import __version__``: the package itself
                found.add("__init__")
    return found


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_every_module_has_a_layer():
    assert all(m.split(".")[0] in LAYERS for m in _modules())


def test_imports_point_down():
    upward = []
    for name, path in _modules().items():
        if name == "__init__":
            continue
        for target in _imports(name, path):
            if target == "__init__":  # the version string, read lazily
                continue
            if _layer(target) > _layer(name) and (name, target) not in ALLOWED_UPWARD:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_cycles():
    graph = {name: {t for t in _imports(name, path) if t != "__init__"} for name, path in _modules().items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(nxt_name := node, set())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[nxt_name] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_sub_packages_hold_their_concern():
    modules = set(_modules())
    assert {"data.contract", "data.validation", "data.files", "data.databases", "data.sample", "data.load"} <= modules
    assert {"metrics.mrr", "metrics.revenue", "metrics.cohorts", "metrics.sbg", "metrics.funnel",
            "metrics.acquisition", "metrics.voice"} <= modules
    assert {"report.model", "report.registry", "report.runner", "report.export", "report.pages"} <= modules


def test_public_api_exports_every_error():
    from kpilib import errors

    classes = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, Exception)}
    assert classes <= set(kpilib.__all__)
    assert "annotations" not in kpilib.__all__ and not hasattr(kpilib, "annotations")


def test_a_notebook_worker_imports_no_pandas():
    """The report's workers execute and render pages; the figures come from the snapshot inside the
    kernels. What a worker imports (the ``kpi`` command's module, which a spawned process loads first,
    the worker module and the notebook machinery it starts with) must not bring the data layer: pandas
    cost each worker about 0.6 s of CPU (docs/performance.md)."""
    import subprocess
    import sys

    code = ("import sys, kpilib.cli, kpilib.report.worker as w; w.skip_slow_imports(); "
            "import nbconvert, papermill, jupyter_client.manager, nbclient; "
            "from kpilib.report.render import page_html, html_links; "
            "print(sorted(m for m in ('pandas', 'pandera', 'scipy', 'matplotlib') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]"

