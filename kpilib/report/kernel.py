"""What a report worker runs inside its kernel: the imports before the first page, a clean slate
between pages.

A pack's pages run in two worker processes. Starting a kernel and importing pandas, matplotlib,
SciPy and kpilib costs about 3 s of CPU per page, more than most pages' own work, so each worker
keeps one kernel for all the pages it runs (:mod:`kpilib.report.worker`). It warms it up
(:func:`warm_up`) while the runner builds the model, and between two pages :func:`clean_slate`
gives the next page what a new kernel would: an empty namespace, execution counts from 1, no open
figure, matplotlib's settings as they were before the first page, and the environment the runner
hands the pages (the model snapshot, a database URL). Modules stay imported: that is the point,
and a page must not depend on module state another page left (kpilib keeps none but the language,
which every page sets first, through ``KpiModel.load``).

These functions run in the kernel (:func:`freeze_imports` in the worker and the ``kpi report``
process too); only the standard library and what the pages import anyway are used.
"""

from __future__ import annotations

import os

_settings: dict | None = None  # matplotlib's settings after the warm-up, restored between pages

#: what every page of the kit imports: done once per kernel instead of once per page
WARM_IMPORTS = ("pandas", "numpy", "pyarrow", "matplotlib.pyplot", "scipy.optimize",
                "kpilib", "kpilib.report.pages", "kpilib.report.charts", "kpilib.report.drill",
                "kpilib.report.snapshot", "kpilib.metrics.forecast")


def warm_up(imports: tuple[str, ...] = WARM_IMPORTS) -> None:
    """Import what the pages need (a module that fails to import is left for its page to report)
    and remember matplotlib's settings when matplotlib is among them."""
    import importlib
    import sys

    global _settings
    for name in imports:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 - the page that imports it shows the error in its own cell
            continue
    if "matplotlib" in sys.modules:
        _settings = dict(sys.modules["matplotlib"].rcParams)
    freeze_imports()


def freeze_imports() -> None:
    """Leave what is imported so far out of every later garbage collection (``gc.freeze``): the
    modules, their functions and classes live as long as the process, and a full collection that
    walks them costs about 0.1 s in a kernel with pandas, matplotlib and SciPy, paid twice at each
    clean slate (IPython's reset collects too) and at every collection a page's own work triggers.

    Called where what is alive will stay alive, in the kit's own processes: after a kernel's
    warm-up, a worker's start (its kernel's client included) and, in ``kpi report``, the runner's
    imports (the load's collections then walk only new objects: the runner's collections in a sample
    pack 1.1 s -> 0.7 s of CPU). Never in a caller's process (``build_report`` from a notebook), whose
    objects alive now may become garbage later. Freezing never stops reference counting from freeing
    an object."""
    import gc

    gc.collect()  # the imports' own garbage is not kept for ever
    gc.freeze()


def clean_slate(environ: dict[str, str | None]) -> None:
    """Make this kernel what a new one would be for the next page (see the module's text);
    ``environ``: variables to set, ``None`` to unset."""
    import sys
    import warnings

    from IPython import get_ipython

    if _settings is None and "matplotlib" in sys.modules:
        # a page loaded matplotlib after the warm-up: its settings as they were are unknown, so the
        # runner gives the next page a new kernel instead (a failure here means just that)
        raise RuntimeError("matplotlib was first imported by a page; the next page needs a new kernel")
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if _settings is not None:
        with warnings.catch_warnings():  # a few settings warn when set, even to their own value
            warnings.simplefilter("ignore")
            sys.modules["matplotlib"].rcParams.update(_settings)
    set_environ(environ)
    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)  # the namespace, the output history; counts from 1 in a new session
    give_back_memory()


def give_back_memory() -> None:
    """Hand what the last page freed back to the system, so a kernel that ran a large page does not
    carry its size into the next one: a garbage collection, Arrow's unused buffers, and the C heap's
    free pages (glibc's ``malloc_trim``; elsewhere that step is skipped)."""
    import ctypes
    import gc
    import sys

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def set_environ(environ: dict[str, str | None]) -> None:
    """Set these environment variables; ``None`` unsets one (the runner's workers use it too)."""
    for name, value in environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
