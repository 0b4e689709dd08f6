"""A worker's warm kernel gives every page what a new kernel would (kpilib/report/kernel.py)."""

from __future__ import annotations

import nbformat
import pytest

from kpilib.report import runner


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": runner.KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def warm(tmp_path):
    runner._warm_kernel(tmp_path)
    assert runner._KERNEL is not None, "the kernel did not start"
    yield tmp_path
    runner._drop_kernel()


def test_the_second_page_sees_nothing_the_first_left(warm):
    first = _notebook(warm / "first.ipynb",
                      "import matplotlib, matplotlib.pyplot as plt, os\n"
                      "left_behind = 1\nmatplotlib.rcParams['lines.linewidth'] = 9\nplt.figure()",
                      "print('done')")
    second = _notebook(warm / "second.ipynb",
                       "import matplotlib, matplotlib.pyplot as plt, os\n"
                       "print('left_behind' in dir(), matplotlib.rcParams['lines.linewidth'], "
                       "len(plt.get_fignums()), os.environ.get('KPI_WARM_TEST'))")
    km = runner._page_kernel({})
    assert km is runner._KERNEL
    assert runner.execute_notebook(first, warm / "first.out.ipynb", {}, timeout=60, km=km).ok
    km = runner._page_kernel({"KPI_WARM_TEST": "handed"})
    assert km is runner._KERNEL, "a good page keeps the kernel for the next"
    assert runner.execute_notebook(second, warm / "second.out.ipynb", {}, timeout=60, km=km).ok
    out = nbformat.read(warm / "second.out.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert code[-1].outputs[0]["text"].split() == ["False", "1.5", "0", "handed"]
    # counts as a new kernel gives them
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


def test_a_timeout_in_the_warm_kernel_fails_the_page(warm):
    slow = _notebook(warm / "slow.ipynb", "import time\ntime.sleep(30)")
    km = runner._page_kernel({})
    result = runner.execute_notebook(slow, warm / "slow.out.ipynb", {}, timeout=2, km=km)
    assert not result.ok and result.ename == "CellTimeoutError"
