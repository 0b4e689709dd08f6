"""What a notebook worker runs: its start-up, the warm kernel its pages share, and one page
executed by papermill and rendered to HTML by nbconvert.

The runner (:mod:`kpilib.report.runner`) starts these processes (two by default) beside its own work
and hands them pages. They import only the notebook machinery and this module's few kit modules, never
pandas: the pages' figures come from the model snapshot inside the kernels, and a worker that
imported the runner's data layer paid about 0.6 s of CPU for nothing. ``kpilib.report.runner``
keeps the pool, the pack and everything that reads data.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..i18n import SOURCE_LANGUAGE, _, set_language
from .kernel import freeze_imports, set_environ
from .render import html_links, page_html
from .sitemap import NOTEBOOKS

if TYPE_CHECKING:  # nbformat is slow to import (jsonschema); kernels never need it
    import nbformat


KERNEL_NAME = "python3"


DEFAULT_TIMEOUT = 600  # seconds per cell


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of executing one notebook in a worker process (picklable)."""

    name: str
    ok: bool
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None


def execute_notebook(source: Path, target: Path, parameters: dict[str, str],
                     timeout: int = DEFAULT_TIMEOUT, log: Path | None = None, km=None) -> NotebookResult:
    """Execute one notebook with papermill; never raises for a notebook failure.

    ``km``: a running kernel to execute it in (a worker's warm kernel, see :func:`build_page`);
    default: a new kernel for this notebook. The executed notebook is made reproducible: cell ids
    and execution counts numbered, papermill's timings and timestamps removed, so the same data and
    options give the same bytes.
    """
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # A leaked MPLBACKEND=Agg makes every inline figure vanish from the report.
    os.environ.pop("MPLBACKEND", None)
    _quiet_kernels(log)
    try:
        pm.execute_notebook(str(source), str(target), parameters=parameters,
                            kernel_name=KERNEL_NAME, progress_bar=False,
                            # written once at the end (or at the failing cell), not after every cell: a
                            # page rewrote its growing notebook, images included, 20-odd times (1.2 s
                            # of its worker's CPU -> 0.3 s for the churn page); a failed page's file
                            # goes with the staging folder anyway
                            request_save_on_cell_execute=False,
                            execution_timeout=timeout, cwd=str(source.parent),
                            **({"km": km} if km is not None else {}))
    except pm.PapermillExecutionError as exc:
        return NotebookResult(source.stem, False, exc.cell_index, exc.ename, _first_line(exc.evalue))
    except CellTimeoutError as exc:
        return NotebookResult(source.stem, False, None, "CellTimeoutError", _first_line(str(exc)))
    except DeadKernelError as exc:
        return NotebookResult(source.stem, False, None, "DeadKernelError", _first_line(str(exc)))
    except RuntimeError as exc:  # "Kernel died before replying to kernel_info" (OOM killer, kill -9)
        return NotebookResult(source.stem, False, None, "DeadKernelError", _first_line(str(exc)))
    except OSError as exc:  # the staging folder filled up or became unwritable
        return NotebookResult(source.stem, False, None, "OSError", _cannot_write(exc, target))
    make_reproducible(target)
    return NotebookResult(source.stem, True)


def make_reproducible(path: Path) -> None:
    """Number the cells' ids and execution counts and drop run timings, so an executed notebook
    depends only on its inputs (counts as a new kernel gives them: 1, 2, ... in order)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    count = 0
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            count += 1
            cell["execution_count"] = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
    normalise_addresses(nb)
    nbformat.write(nb, path)


_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{6,16}\b")  # object reprs, e.g. <Styler at 0x7f...>


def normalise_addresses(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Replace memory addresses in plain-text outputs (they differ in every process)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            plain = out.get("data", {}).get("text/plain")
            if isinstance(plain, str):
                out["data"]["text/plain"] = _ADDRESS.sub("at 0xADDRESS", plain)
    return nb


def _quiet_kernels(log: Path | None) -> None:
    """Send this worker's stderr, which its kernels inherit, to the run's own log file.

    ipykernel logs start-up chatter ("running over TCP", shutdown notices) there;
    on a terminal it would tear the progress bar apart. Cell errors still reach the
    user through papermill's exceptions.
    """
    if log is None:
        return
    handle = open(log, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the worker
    os.dup2(handle.fileno(), 2)


def _watch_parent() -> None:
    """Pool worker start-up: die with the runner (Linux PR_SET_PDEATHSIG), so a runner killed
    outright leaves no worker behind; the worker's kernels exit when their parent goes."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still applies
        pass
    signal_default()


def signal_default() -> None:
    """Ignore SIGINT in a pool worker (the runner decides; workers stop when told), then unblock it:
    the runner spawned the worker with SIGINT blocked (see :func:`kpilib.report.runner._spawn_workers`),
    so a Ctrl-C that came while the worker was importing is dropped here instead of printing a
    traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:500] if (text or "").strip() else ""


def render_html(notebook: Path, target: Path, built: Sequence[str] | None = None) -> None:
    """Render an executed notebook to HTML: no code, no prompts, no external requests; links to the
    pack's other pages (``built``, default all) and its index and glossary."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    title = _(NOTEBOOKS[notebook.stem]) if notebook.stem in NOTEBOOKS else notebook.stem
    target.write_text(html_links(page_html(nb, title, page_script_words()), built), encoding="utf-8")


def page_script_words() -> dict[str, str]:
    """The words the pages' script adds (templates/kpi/index.html.j2), in the current language."""
    return {"csv": _("Download this table as CSV"), "search": _("Search this list"), "sort": _("Sort")}


def _start_worker(log: Path, notebooks: Path | None = None, imports: Sequence[str] | None = None) -> None:
    """Pool worker start-up: die with the runner, leave signals to it, keep temporary files in the
    run's folder, import what pages need, start the kernel its pages will share (warmed up with
    ``imports``, default :data:`~kpilib.report.kernel.WARM_IMPORTS`)."""
    _watch_parent()
    try:
        _bind_run(log)
    except OSError:  # the run ended (refused) while this worker started; the next pack binds it
        _BOUND.clear()
    skip_slow_imports()
    os.environ.pop("MPLBACKEND", None)  # before the kernel inherits it (see execute_notebook)
    import nbconvert  # noqa: F401 - imported once per worker, before its first page
    import papermill  # noqa: F401

    if notebooks is not None:
        _warm_kernel(notebooks, imports)
    # frozen with the rest: the kernel's manager and client, kept for the worker's life (one that is
    # dropped after a failed page then leaves its cycles uncollected: a few objects, once)
    freeze_imports()


#: This worker's kernel, shared by its pages (:mod:`kpilib.report.kernel`); ``None`` before it starts,
#: when it could not start, and after a page failed in it (the next page then starts a new one).
_KERNEL = None


#: The worker's own client of that kernel, for the code it runs outside any page (the warm-up, the
#: clean slate): connected once, because a new client waits about 0.4 s before it may send anything
#: (heartbeat, then a quiet IOPub channel), which every page would pay.
_CLIENT = None


KERNEL_START_SECONDS = 60


def _connect(km):
    """A blocking client of kernel ``km``, ready (channels open, the kernel answering). A client of its
    own: the pages' client belongs to nbclient's event loop. No heartbeat channel: the manager watches
    the kernel's process."""
    from jupyter_client.blocking import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels(hb=False)
    try:
        kc.wait_for_ready(timeout=KERNEL_START_SECONDS)
    except BaseException:
        kc.stop_channels()
        raise
    return kc


def _kernel_code(kc, code: str, timeout: float = KERNEL_START_SECONDS) -> None:
    """Run ``code`` through client ``kc`` outside any notebook (no output kept, no history); raise when
    it fails. Messages of the pages run in between are skipped: only this request's are read."""
    reply = kc.execute_interactive(code, store_history=False, timeout=timeout, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")


def _warm_kernel(cwd: Path, imports: Sequence[str] | None = None) -> None:
    """Start this worker's kernel and import what the pages need in it, while the runner builds the
    model. Any failure leaves no kernel: each page then starts its own, as papermill does.

    An asynchronous manager, the kind nbclient makes for itself: with it nbclient enforces the cell
    timeout and notices a dead kernel (with a synchronous one it does neither). Its coroutines run in
    this thread's one event loop (``run_sync``), the loop nbclient runs the pages in.
    """
    global _KERNEL, _CLIENT
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=KERNEL_NAME)
    kc = None
    try:
        run_sync(km.start_kernel)(cwd=str(cwd), **_dies_with_this_worker())
        kc = _connect(km)
        wanted = "" if imports is None else repr(tuple(imports))
        _kernel_code(kc, f"from kpilib.report.kernel import warm_up as _w\n_w({wanted})\ndel _w")
    except Exception:  # noqa: BLE001 - the pages still run, each in a kernel of its own
        _drop_kernel(km, kc)
        return
    _KERNEL, _CLIENT = km, kc
    atexit.register(_drop_kernel)  # the worker's normal end (the pool shut down) takes its kernel along


def _dies_with_this_worker() -> dict[str, Any]:
    """Arguments for the kernel's launch (``subprocess.Popen``): the kernel is killed when this worker
    ends (Linux PR_SET_PDEATHSIG, set between fork and exec), even while it starts up. Else a kernel
    whose worker a failing run stopped kept starting after the run had cleaned its folder, and wrote
    its connection file back there. Elsewhere: nothing (the kernel watches its parent's process id)."""
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return {}
    worker = os.getpid()

    def die_with_worker() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != worker:  # the worker ended before the line above
            os._exit(1)

    return {"preexec_fn": die_with_worker}


def _drop_kernel(km=None, kc=None) -> None:
    """Shut a kernel down at once and close its client (default: this worker's own, which are then
    forgotten)."""
    global _KERNEL, _CLIENT
    from jupyter_core.utils import run_sync

    if km is None:
        km, kc, _KERNEL, _CLIENT = _KERNEL, _CLIENT, None, None
    if kc is not None:
        kc.stop_channels()
    if km is None:
        return
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001,S110 - a kernel that is already gone is what was asked for
        pass


def _page_kernel(environ: Mapping[str, str | None]):
    """This worker's kernel made fresh for the next page, or ``None`` (the page starts its own)."""
    from jupyter_core.utils import run_sync

    km = _KERNEL
    if km is None:
        return None
    try:
        if not run_sync(km.is_alive)():
            raise RuntimeError("the kernel died between pages")
        _kernel_code(_CLIENT, f"from kpilib.report.kernel import clean_slate as _c\n_c({dict(environ)!r})")
    except Exception:  # noqa: BLE001 - a new kernel for this page instead
        _drop_kernel()
        return None
    return km


_BOUND: list[Path] = []  # the run this worker's stderr and temporary files belong to


def _bind_run(log: Path) -> None:
    """Send this worker's stderr to the run's kernel log and its temporary files to the run's folder
    (once per run: a worker kept by :func:`~kpilib.report.runner.kept_workers` serves several runs)."""
    if _BOUND[-1:] == [log]:
        return
    _quiet_kernels(log)
    _temporary_files_in(log.parent)
    _BOUND[:] = [log]


def _temporary_files_in(folder: Path) -> None:
    """Temporary files of this worker and of its kernels (jupyter's connection files, which hold the
    kernels' keys) go into the run's private folder, so that they go with it, even after a signal."""
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)


def build_page(source: Path, target: Path, parameters: dict[str, str], timeout: int,
               environ: Mapping[str, str | None] | None = None, built: Sequence[str] | None = None,
               log: Path | None = None) -> NotebookResult:
    """Execute one notebook, then render its HTML beside it (run in a pool worker).

    ``environ``: the snapshot and database variables, set by the runner after this worker started
    (``None``: unset); ``log``: the run's kernel log (a worker kept from an earlier pack, see
    :func:`~kpilib.report.runner.kept_workers`, moves its stderr and temporary files to this run's folder)."""
    if log is not None:
        _bind_run(log)
    set_environ(dict(environ or {}))
    set_language(parameters.get("lang", SOURCE_LANGUAGE))  # the words render_html adds (navigation, title)
    km = _page_kernel(environ or {})
    result = execute_notebook(source, target, parameters, timeout, km=km)
    if not result.ok:
        if km is not None:
            _drop_kernel()  # a failed page may leave its kernel busy, dead or changed
        return result
    try:
        render_html(target, target.with_suffix(".html"), built)
    except OSError as exc:  # the staging folder filled up or became unwritable
        return NotebookResult(source.stem, False, None, "OSError", _cannot_write(exc, target.with_suffix(".html")))
    return result


def _cannot_write(exc: OSError, path: Path) -> str:
    """A failed write, naming the file: the error's own, else the one being written (a write through an
    open file, e.g. a full disk, names none)."""
    return f"cannot write {exc.filename or path}: {exc.strerror or _first_line(str(exc))}"


def skip_slow_imports() -> None:
    """jsonschema, which nbformat imports, builds an RFC 3987 grammar at import time when the
    optional ``rfc3987_syntax`` package is installed (1.4-3 s of CPU); it only serves the "iri"
    formats, which the notebook schemas never use. The kit's pool workers go without it, and so do
    the test processes (tests/skip_slow_imports.py, loaded before nbval); call it before the first
    import of jsonschema, anywhere else it does nothing."""
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # None in sys.modules: "not installed"
