"""A worker's warm kernel gives every page what a new kernel would (kpilib/report/kernel.py)."""

from __future__ import annotations

import nbformat
import pytest

from kpilib.report import runner, worker


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": worker.KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def warm(tmp_path):
    worker._warm_kernel(tmp_path)
    assert worker._KERNEL is not None, "the kernel did not start"
    yield tmp_path
    worker._drop_kernel()


@pytest.mark.slow
def test_the_second_page_sees_nothing_the_first_left(warm):
    first = _notebook(warm / "first.ipynb",
                      "import matplotlib, matplotlib.pyplot as plt, os\n"
                      "left_behind = 1\nmatplotlib.rcParams['lines.linewidth'] = 9\nplt.figure()",
                      "print('done')")
    second = _notebook(warm / "second.ipynb",
                       "import matplotlib, matplotlib.pyplot as plt, os\n"
                       "print('left_behind' in dir(), matplotlib.rcParams['lines.linewidth'], "
                       "len(plt.get_fignums()), os.environ.get('KPI_WARM_TEST'))")
    km = worker._page_kernel({})
    assert km is worker._KERNEL
    assert worker.execute_notebook(first, warm / "first.out.ipynb", {}, timeout=60, km=km).ok
    km = worker._page_kernel({"KPI_WARM_TEST": "handed"})
    assert km is worker._KERNEL, "a good page keeps the kernel for the next"
    assert worker.execute_notebook(second, warm / "second.out.ipynb", {}, timeout=60, km=km).ok
    out = nbformat.read(warm / "second.out.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert code[-1].outputs[0]["text"].split() == ["False", "1.5", "0", "handed"]
    # counts as a new kernel gives them
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


@pytest.mark.slow
def test_a_timeout_in_the_warm_kernel_fails_the_page(warm):
    slow = _notebook(warm / "slow.ipynb", "import time\ntime.sleep(30)")
    km = worker._page_kernel({})
    result = worker.execute_notebook(slow, warm / "slow.out.ipynb", {}, timeout=2, km=km)
    assert not result.ok and result.ename == "CellTimeoutError"


def test_warm_imports_are_what_ones_own_notebooks_import(tmp_path):
    from kpilib.paths import NOTEBOOKS_DIR

    _notebook(tmp_path / "a.ipynb", "import time, os.path\nfrom collections import abc\nx = 1",
              "%matplotlib inline\nimport never_seen", "from . import sibling\ndef f():\n    import json")
    _notebook(tmp_path / "b.ipynb", "import time\nimport matplotlib.pyplot as plt")
    assert runner.warm_imports(tmp_path, ["a", "b"]) == ("time", "os.path", "collections", "matplotlib.pyplot")
    assert runner.warm_imports(tmp_path, ["b"]) == ("time", "matplotlib.pyplot")
    assert runner.warm_imports(NOTEBOOKS_DIR, ["00_overview"]) is None  # the kit's list (kernel.WARM_IMPORTS)


def _pack_pids(tiny_dir, out, nbs, name="ids", period="2024-02"):
    """Build a pack of one page that prints its kernel's pid, its worker's pid and what it can see."""
    from kpilib import build_report

    pack = build_report(period, data=str(tiny_dir), out=out, notebooks=[name], notebook_dir=nbs, progress=False)
    cells = [c for c in nbformat.read(pack / f"{name}.ipynb", as_version=4).cells if c.cell_type == "code"]
    return cells[-1].outputs[0]["text"].split()


@pytest.mark.slow
def test_a_kept_worker_serves_the_next_pack_with_a_clean_slate(tiny_dir, tmp_path):
    from test_report import make_notebook

    from kpilib import PeriodError, ReportError, build_report

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs, "ids", "import os\nprint(os.getpid(), os.getppid(), 'left' in dir(), os.environ['KPI_SNAPSHOT'],"
                  " os.environ.get('KPI_DATABASE_URL'))\nleft = 1")
    make_notebook(nbs, "boom", "raise ValueError('odd')")
    with runner.kept_workers():
        first = _pack_pids(tiny_dir, tmp_path / "a", nbs)
        second = _pack_pids(tiny_dir, tmp_path / "b", nbs, period="2024-03")
        assert second[:2] == first[:2], "the second pack runs in the first one's worker and kernel"
        assert first[2] == second[2] == "False"  # nothing a page defined outlives it
        assert second[3] != first[3] and "kpi-run-" in second[3]  # each pack's own snapshot
        assert first[4] == second[4] == "None"
        with pytest.raises(PeriodError):  # refused before any page: the workers never ran one
            build_report("2019-01", data=str(tiny_dir), out=tmp_path / "e", notebooks=["ids"], notebook_dir=nbs,
                         progress=False)
        assert _pack_pids(tiny_dir, tmp_path / "f", nbs)[:2] == first[:2], "a refused pack keeps the workers"
        with pytest.raises(ReportError, match="boom"):
            build_report("2024-02", data=str(tiny_dir), out=tmp_path / "c", notebooks=["boom"], notebook_dir=nbs,
                         progress=False)
        third = _pack_pids(tiny_dir, tmp_path / "d", nbs)
        assert third[1] != first[1], "the workers of a failed pack are never reused"


def test_memory_a_page_freed_goes_back_to_the_system_before_the_next():
    import ctypes.util

    import psutil

    from kpilib.report.kernel import give_back_memory

    if ctypes.util.find_library("c") is None or "glibc" not in " ".join(__import__("platform").libc_ver()):
        pytest.skip("malloc_trim is glibc's")
    me = psutil.Process()
    blocks = [bytes(2000) for _ in range(60_000)]  # about 120 MB on the C heap (above pymalloc's sizes)
    kept = blocks[::50]  # what a page leaves alive pins the heap: freeing alone gives little back
    del blocks
    before = me.memory_info().rss
    give_back_memory()
    assert before - me.memory_info().rss > 60e6
    assert len(kept) == 1200
