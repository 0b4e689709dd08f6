"""The report runner: a thin layer over papermill and nbconvert.

:func:`build_report` validates the data, executes every notebook for one period
(in parallel, under one progress bar), renders each to self-contained HTML
without code, writes an index, and only then swaps the finished pack into
``<out>/<period>/``. A failed or interrupted run leaves the previous pack as it
was. The pages are executed and rendered in a pool of worker processes
(:mod:`kpilib.report.worker`); this module keeps the pool, the data and the pack.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.asof import default_period
from ..data.dataset import Dataset
from ..engine.engagement import load_for_report
from ..errors import KpiError, PeriodError, ReportError
from ..i18n import PSEUDO, SOURCE_LANGUAGE, check_language, current_language, languages, using
from ..paths import NOTEBOOKS_DIR, default_reports_dir
from ..periods import ReportPeriod, parse_period
from .kernel import give_back_memory
from .render import write_glossary, write_index
from .sitemap import NOTEBOOKS
from .worker import DEFAULT_TIMEOUT, KERNEL_START_SECONDS, NotebookResult, _start_worker, build_page

if TYPE_CHECKING:
    from .restatement import Restatement

DATABASE_ENV = "KPI_DATABASE_URL"


def pack_name(period: ReportPeriod, segment: str | None, lang: str = SOURCE_LANGUAGE) -> str:
    """The pack's folder name: ``2025-12`` for all accounts, ``2025-12-segment-enterprise`` for one
    segment; in another language than English its code follows, ``2025-12-fr``,
    ``2025-12-segment-enterprise-fr``, so that it never replaces the English pack. The segment part
    is a slug (lower-case letters, digits and dashes), so a segment value from the data can never
    name a path outside the output folder."""
    suffix = "" if lang == SOURCE_LANGUAGE else f"-{lang}"
    if segment in (None, "", "all"):
        return period.label + suffix
    slug = re.sub(r"[^a-z0-9]+", "-", str(segment).lower()).strip("-")
    if not slug:
        slug = hashlib.sha256(str(segment).encode("utf-8")).hexdigest()[:10]
    return f"{period.label}-segment-{slug}{suffix}"


def pack_language(folder: Path) -> tuple[str, str]:
    """A pack folder's name without its language suffix, and its language: from the parameters in its
    manifest.json (a pack written before packs had languages is English), else from the name
    (``2025-12-fr`` -> ``("2025-12", "fr")``)."""
    name = folder.name
    lang = _manifest_language(folder)
    if lang is None:
        found = [code for code in [*languages(), PSEUDO] if code != SOURCE_LANGUAGE and name.endswith(f"-{code}")]
        lang = found[0] if found else SOURCE_LANGUAGE
    if lang != SOURCE_LANGUAGE and name.endswith(f"-{lang}"):
        return name[: -len(lang) - 1], lang
    return name, lang


def _manifest_language(folder: Path) -> str | None:
    """The language in a pack's manifest.json (English for a pack from before packs had languages), or
    ``None`` when the folder has no readable manifest."""
    try:
        doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return str(doc["parameters"].get("lang", SOURCE_LANGUAGE))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _packs_of(out_root: Path, period: ReportPeriod) -> list[tuple[str, str, str]]:
    """``(folder, name without the language, language)`` of every pack of ``period`` in ``out_root``."""
    if not out_root.is_dir():
        return []
    found = []
    for p in out_root.iterdir():
        if not p.is_dir() or not (p.name == period.label or p.name.startswith(f"{period.label}-")):
            continue
        base, lang = pack_language(p)
        if base == period.label or base.startswith(f"{period.label}-segment-"):
            found.append((p.name, base, lang))
    return found


def sibling_packs(out_root: Path, period: ReportPeriod, own: str, lang: str = SOURCE_LANGUAGE) -> list[str]:
    """The other packs of the same period and language already in the output folder (for the index:
    the other segments; the same pack in other languages is :func:`translated_packs`)."""
    return sorted(name for name, _base, other in _packs_of(out_root, period) if other == lang and name != own)


def translated_packs(out_root: Path, period: ReportPeriod, own: str, lang: str = SOURCE_LANGUAGE
                     ) -> list[tuple[str, str]]:
    """``(folder, language)`` of the packs of the same period and scope (all accounts or the same
    segment) in other languages than ``lang``, already in the output folder, by language."""
    base = own[: -len(lang) - 1] if lang != SOURCE_LANGUAGE and own.endswith(f"-{lang}") else own
    return sorted(((name, other) for name, other_base, other in _packs_of(out_root, period)
                   if other_base == base and other != lang), key=lambda f: f[1])


def report_parameters(period: ReportPeriod, data: str | None, base_currency: str,
                      segment: str, lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """The papermill parameters of every notebook (``lang``: the language the pages are written in).

    Only safe values go here: papermill writes parameters into the executed
    notebook and so into the HTML. Credentials never travel as parameters.
    """
    return {"period": period.label, "data": data or "sample",
            "base_currency": base_currency, "segment": segment or "all", "lang": lang}


def write_figures(pack: Path, period: ReportPeriod, dataset: Dataset, model=None):
    """Write ``kpis.json`` and ``kpis.csv``: the headline figures for BI tools and bots.

    Missing values (undefined for the period) are ``null`` in JSON and empty in CSV. ``goal`` and
    ``gap`` (value - goal, of the stored figures) are ``null`` for a KPI without a goal for the period,
    and ``goal_note`` says it in words. Returns the headline frame (the index shows its tiles).
    """
    from .overview import headline_kpis

    kpis = headline_kpis(model if model is not None else dataset, period)
    from .export import neutralise
    from .restatement import stored_value

    shown = kpis.copy()
    for col in ("value", "previous", "year_ago", "goal"):  # money to the cent, counts whole, the rest 6 digits
        kpis[col] = [stored_value(v, u) for v, u in zip(kpis[col].astype(float), kpis["unit"])]
    # the gap of the stored figures, so that value - goal = gap holds in the file to its last digit
    kpis["gap"] = [None if v is None or g is None else stored_value(v - g, u)
                   for v, g, u in zip(kpis["value"], kpis["goal"], kpis["unit"])]

    neutralise(kpis).to_csv(pack / "kpis.csv", index=False)
    records = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in kpis.astype(object).to_dict(orient="records")
    ]
    doc = {
        "period": period.label, "period_kind": period.kind,
        "start": period.start_date.date().isoformat(), "end": period.end_date.date().isoformat(),
        "data_source": dataset.source, "data_end": dataset.data_end.date().isoformat(),
        "base_currency": dataset.base_currency, "filters": dataset.filters,
        "lang": current_language(),  # the pack's words; the keys and labels here stay English
        "kpis": records,
    }
    (pack / "kpis.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return shown


def write_manifest(pack: Path, period: ReportPeriod, dataset: Dataset, parameters: dict[str, str],
                   restated: Restatement | None = None, inputs: dict | None = None) -> dict:
    """Write ``manifest.json``: every input table (rows, dates, hash), parameters, version, commit,
    and the comparison with the earlier pack beside this one (``restatement``, null without one).
    ``inputs``: :func:`~kpilib.report.manifest.manifest` of these arguments, when already computed."""
    from .manifest import manifest

    doc = dict(inputs) if inputs is not None else manifest(dataset, period, parameters)
    doc["restatement"] = restated.to_dict() if restated is not None else None
    (pack / "manifest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return doc


def _check_covered(period: ReportPeriod, dataset: Dataset) -> None:
    end = dataset.data_end
    start = dataset.data_start
    if period.start_date > end or period.end_date < start:
        raise PeriodError(
            f"period {period.label} has no data: the data run from {start.date()} to {end.date()}"
        )


def _prepare_out(out_root: Path, label: str) -> Path:
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{label}.building-", dir=out_root))
    except OSError as exc:
        raise ReportError(f"cannot write to output folder {out_root}: {exc.strerror or exc}") from None


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` so that a good pack is always in place.

    SIGINT and SIGTERM are held during the two renames (:func:`_signals_held`): a signal between
    them would leave no pack in place. One that came meanwhile is delivered right after; its
    :class:`Stopped` then says that the new pack is in place. (After a SIGKILL in between, the next
    run's sweep puts the old pack back: see :func:`_sweep_stale`.)
    """
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists() and not final.is_dir():
        raise ReportError(f"{final} exists and is not a pack folder: move it away; nothing was replaced")
    _apply_umask(staging)
    swapped = False
    try:
        with _signals_held(signal.SIGINT, signal.SIGTERM):
            if final.exists():
                final.rename(old)
            try:
                staging.rename(final)
            except OSError:
                if old.exists():
                    old.rename(final)
                raise
            swapped = True
    except Stopped as stop:
        if swapped:  # delivered as the signals were released
            stop.replaced = final
        raise
    finally:
        if swapped:  # never before: if putting the old pack back failed, the next run's sweep does it
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _signals_held(*signums: int):
    """Hold these signals for the block: one that comes meanwhile is only recorded, then raised again
    when the block ends, under the handlers of before (so :class:`Stopped` comes after the block).

    Held by Python handlers, not by ``pthread_sigmask``: a mask covers only this thread, and a
    signal sent to the process then goes to another one (tqdm's monitor), whose Python handler runs
    in the main thread all the same, in the middle of the block.
    """
    got: list[int] = []
    previous: dict[int, Callable[[int, Any], Any] | int | None] = {}
    for signum in signums:
        with contextlib.suppress(ValueError):  # not the main thread: no handler of ours to hold
            previous[signum] = signal.signal(signum, lambda number, frame: got.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if got:
            signal.raise_signal(got[0])


def _apply_umask(folder: Path) -> None:
    """Give the pack the user's usual permissions (mkdtemp makes a private 0700 folder)."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


@contextlib.contextmanager
def _output_lock(out_root: Path):
    """One run at a time per output folder: a second run fails fast instead of racing the first.

    Under the lock, staging and old folders left by a run that was killed outright are removed.
    """
    import fcntl

    try:
        out_root.mkdir(parents=True, exist_ok=True)
        handle = open(out_root / ".kpi.lock", "a+")  # noqa: SIM115 - held for the run
    except OSError as exc:
        raise ReportError(f"cannot write to output folder {out_root}: {exc.strerror or exc}; "
                          "nothing was replaced") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ReportError(f"another kpi report is writing into {out_root}; try again when it has "
                          "finished (nothing was replaced)") from None
    try:
        _sweep_stale(out_root)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _sweep_stale(out_root: Path) -> None:
    """Remove what a run killed outright left in ``out_root`` (called under the lock).

    Staging folders (``.<pack>.building-*``) go. An old pack (``.<pack>.old-*``) goes too, unless
    its pack is missing: then the run died between the two renames of :func:`_swap_in`, and the
    old pack is renamed back into place.
    """
    for stale in out_root.glob(".*.building-*"):
        _remove(stale)
    for old in sorted(out_root.glob(".*.old-*")):
        final = out_root / old.name[1:].rsplit(".old-", 1)[0]
        if old.is_dir() and not old.is_symlink() and not os.path.lexists(final):
            old.rename(final)
        else:
            _remove(old)


def _remove(path: Path) -> None:
    """Remove a folder or a file (a symlink itself, never its target); missing is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def stop_on_signals(on_signal: Callable[[int], None] | None = None):
    """SIGTERM (cron's timeout, systemd, Airflow, Kubernetes) stops a run like Ctrl-C does: both raise
    :class:`Stopped`. The CLI installs it first thing for ``kpi report``, so data loading is covered.
    ``on_signal``: called with the signal's number first (the ``kpi`` command bounds its exit there)."""
    def stop(signum, frame):
        if on_signal is not None:
            on_signal(signum)
        raise Stopped(signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal; the CLI exits 128 + the signal number.

    ``replaced`` is the pack's folder when the signal came during the final renames: they were let
    finish (:func:`_swap_in`), so the new pack is in place; otherwise ``None`` (nothing was replaced).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.replaced: Path | None = None


MAX_WORKERS = 4 * (os.cpu_count() or 1)


def build_report(period: str | ReportPeriod | None = None, *, data: str | None = None,
                 out: str | Path | None = None, base_currency: str = "USD", segment: str = "all",
                 notebooks: Sequence[str] | None = None, notebook_dir: str | Path | None = None,
                 workers: int = 2,
                 timeout: int = DEFAULT_TIMEOUT, goals: str | Path | None = None,
                 progress: Callable[[int, str], None] | bool = True, lang: str = SOURCE_LANGUAGE) -> Path:
    """Build the report pack for one period and return its folder.

    Parameters
    ----------
    period
        ``2025-12``, ``2025-Q4`` or ``2025``; default: the latest complete month.
    data
        Data source (a folder); default: the bundled sample company.
    out
        Parent folder of the pack; default ``reports/`` of the project.
    base_currency, segment
        Passed to every notebook.
    notebooks
        Subset of :data:`NOTEBOOKS` to run (default: all).
    notebook_dir
        Folder of the source notebooks (default: the kit's ``notebooks/``).
    workers
        Notebooks executed in parallel.
    timeout
        Seconds allowed per cell.
    goals
        A goals file used instead of the data folder's ``goals.yaml`` (a database source has goals
        only this way); default: the folder's own, if any.
    progress
        ``True`` for a tqdm bar, ``False`` for none, or a callback ``(step, label)``.
    lang
        The language of the pack's words and numbers (``en``, ``fr``, ``it``, ``ms``: see
        :func:`kpilib.i18n.languages`). Another language than English writes the pack into
        ``<period>-<lang>/`` (``2025-12-fr``), beside the English one; kpis.json stays English.

    Raises
    ------
    ContractError, PeriodError
        Before anything is written.
    ReportError
        A notebook failed or the output cannot be written; the previous pack is untouched.
    """
    requested = parse_period(period) if period else None  # a typo fails before any loading
    check_language(lang)
    goals_file = Path(goals).expanduser().resolve() if goals is not None else None
    source_dir = Path(notebook_dir).expanduser().resolve() if notebook_dir else NOTEBOOKS_DIR
    found = NOTEBOOKS if notebook_dir is None else sorted(p.stem for p in source_dir.glob("*.ipynb"))
    if not found:  # a mistyped folder would otherwise replace a pack with one without pages
        raise KpiError(f"{source_dir} holds no notebook (*.ipynb)" if source_dir.is_dir() else
                       f"notebook folder {source_dir} does not exist")
    names = list(notebooks or found)
    unknown = [n for n in names if not re.fullmatch(r"[A-Za-z0-9_-]+", n)
               or (notebook_dir is None and n not in NOTEBOOKS) or not (source_dir / f"{n}.ipynb").exists()]
    if unknown:
        raise KpiError(f"unknown notebook(s): {', '.join(unknown)}; choose from {', '.join(NOTEBOOKS)}")
    if not 1 <= workers <= MAX_WORKERS:
        raise KpiError(f"workers must be between 1 and {MAX_WORKERS}, not {workers}")
    if timeout < 1:
        raise KpiError(f"timeout must be at least 1 second, not {timeout}")
    out_root = Path(out).expanduser().resolve() if out else default_reports_dir()
    log_dir = _run_folder()
    log = log_dir / "kernels.log"
    run = {"pool": None}  # the workers, until _build takes them over
    try:
        # the workers start, import the notebook machinery and warm their kernels up while this
        # process loads the data and builds the model; never more workers than pages
        _workers_for(min(workers, len(names)), log, source_dir, names, run)
        # the source as the pages name it; the product usage stays where it is stored (a database, Spark,
        # a Parquet file) when its rows check out there: only its sums per account-month are read
        loaded = load_for_report(_for_kernels(data), base_currency=base_currency, goals=goals_file)
        dataset = loaded.filter(segment=segment)
        if requested is None:
            rperiod, late = default_period(dataset)
            for line in late:
                warnings.warn(line, stacklevel=2)
        else:
            rperiod = requested
        _check_covered(rperiod, dataset)
        folder = pack_name(rperiod, segment, lang)
        held = _manifest_language(out_root / folder)
        if held is not None and held != lang:  # e.g. segment "x" in French and segment "x-fr" in English
            raise ReportError(f"{out_root / folder} holds a pack in language {held!r}, not {lang!r}: move it "
                              "away; nothing was replaced")
        inputs = {"loaded": loaded, "dataset": dataset}  # the only references: _build lets go of them
        del loaded, dataset
        # this process writes the index, the glossary, kpis.json and the exports in the pack's language too
        with _output_lock(out_root), stop_on_signals(), using(lang):
            return _build(rperiod, inputs, data, segment, names, source_dir, out_root, folder, timeout,
                          progress, lang, run, log)
    except KpiError:
        if run["pool"] is not None:  # refused before any page ran (the data, the period)
            _keep_or_stop(run)
        raise
    except BaseException:
        if run["pool"] is not None:
            _stop_pool(run["pool"][0])
        raise
    finally:
        _end_run_folder(log_dir, log, sys.exc_info()[1])


def _build(rperiod, inputs, data, segment, names, source_dir, out_root, folder, timeout, progress, lang,
           run: dict, log: Path) -> Path:
    """The pack from the loaded data, on the workers of ``run`` (taken over: they are released or
    stopped here, whatever happens); ``log``: the run's kernel log."""
    from .export import EXPORT_BREAKDOWNS, write_exports
    from .manifest import manifest, table_hashes
    from .model import KpiModel
    from .restatement import restatement_beside
    from .snapshot import SNAPSHOT_ENV, load_snapshot, snapshot_key, write_snapshot

    (pool, pool_key), run["pool"] = run["pool"], None
    staging: Path | None = None
    notebook_data = _for_kernels(data)
    saved_env = {name: os.environ.get(name) for name in (DATABASE_ENV, SNAPSHOT_ENV)}
    if data and data != "database" and "://" in str(data):
        # papermill writes parameters into the notebooks and so into the HTML:
        # a URL with credentials travels to the kernels only through the environment
        os.environ[DATABASE_ENV] = str(data)
        notebook_data = "database"
    dataset = inputs["dataset"]
    params = report_parameters(rperiod, notebook_data, dataset.base_currency, segment, lang)
    key = snapshot_key(params["data"], rperiod.label, dataset.base_currency, segment, lang)
    snapshot = log.parent / "model.pickle"
    bar, tick = _progress(progress, total=len(names) + 2)
    try:
        staging = _prepare_out(out_root, folder)
        os.environ[SNAPSHOT_ENV] = str(snapshot)  # handed to the pages with each job (after it is written)
        # one model for the whole pack: kpis.json first, then every notebook reads the same model,
        # headline included, from the run's snapshot instead of loading the data again
        # the manifest's content hashes of the input tables, while they are in memory, in a thread beside
        # the model (hashing 11M usage rows is about 3 s at 100 copies; it only reads the tables)
        hashes = _in_background(table_hashes, dataset)
        model = KpiModel(inputs.pop("loaded"), rperiod, segment=segment)
        kpis = write_figures(staging, rperiod, dataset, model)
        model.memo["headline"] = kpis.copy()  # what pages.headline(model) would compute in every kernel
        if "05_nps" in names:
            # the engagement page's figures, here where the usage rows already are: that page's kernel then
            # never reads them (they made most of its 1.6-1.9 GB at 100 copies of the sample)
            model.engagement_summary  # noqa: B018 - computed for the snapshot
        for by in EXPORT_BREAKDOWNS:  # the workbook's, which the revenue page shows too: computed once
            model.breakdown(by)
        write_snapshot(model, key, snapshot, dataset)
        described = manifest(dataset, rperiod, params, hashes.result())
        # from here on this process reads the snapshot too, and keeps only the tables it uses: let go of
        # the in-memory ones before any kernel starts, so that their memory is never held twice
        del model, dataset
        model, dataset = _from_snapshot(inputs, snapshot, key, load_snapshot)
        tick("model")
        # every variable the pages may read, unset ones as None: a kept worker must not keep an earlier pack's
        handed = {k: os.environ.get(k) for k in (DATABASE_ENV, SNAPSHOT_ENV)}
        jobs = {n: pool.submit(build_page, source_dir / f"{n}.ipynb", staging / f"{n}.ipynb", params, timeout,
                               handed, list(names), log) for n in _heaviest_first(names)}
        # while the kernels run: the exports, the glossary and the audit record
        write_exports(staging, model, kpis)
        write_glossary(staging, dataset, names)
        restated = restatement_beside(out_root, rperiod, folder, model)  # the earlier pack, rebuilt
        audit = write_manifest(staging, rperiod, dataset, params, restated, described)
        # the index needs the dataset's description, not the model: let the model and what the exports
        # built go while the pages run (at 100 copies the runner held 0.9 GB until the end)
        del model
        give_back_memory()
        _collect(jobs, names, tick, log)
        _release(pool, pool_key)
        pool = None
        write_index(staging, rperiod, dataset, names, NOTEBOOKS, segment,
                    sibling_packs(out_root, rperiod, folder, lang), kpis, audit, restated,
                    translated_packs(out_root, rperiod, folder, lang))
        tick("index")
        _swap_in(staging, out_root / folder)
    except OSError as exc:
        _abandon(pool, staging)
        where = exc.filename or f"the pack into {out_root}"  # a file in $TMPDIR is not the output folder
        raise ReportError(f"cannot write {where}: {exc.strerror or exc}; nothing was replaced "
                          f"({_log_note(log)})") from None
    except BaseException:
        _abandon(pool, staging)
        raise
    finally:
        if bar is not None:
            bar.close()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return out_root / folder


#: Seconds each page took to execute and render at 100 copies of the sample (docs/performance.md):
#: the pages are handed to the workers longest first, so that no long page starts last and runs alone.
PAGE_SECONDS = {"06_forecast": 23.6, "02_churn_cohorts": 20.7, "01_revenue": 17.6, "05_nps": 13.8,
                "03_funnel": 6.6, "00_overview": 4.1, "04_clv_cac": 3.5}


def _in_background(work: Callable, *args) -> Future:
    """``work(*args)`` in a daemon thread: its future (a run stopped meanwhile does not wait for it)."""
    future: Future = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result
                future.set_exception(exc)

    threading.Thread(target=run, name=f"kpi-{getattr(work, '__name__', 'work')}", daemon=True).start()
    return future


def _heaviest_first(names: Sequence[str]) -> list[str]:
    """``names`` longest page first (:data:`PAGE_SECONDS`; other notebooks after, in their order)."""
    return sorted(names, key=lambda n: -PAGE_SECONDS.get(n, 0.0))


def _from_snapshot(inputs: dict, snapshot: Path, key: tuple, load: Callable):
    """The model and the dataset read back from the run's snapshot, once the in-memory ones are let go
    (``inputs`` held their last reference): this process then holds only the tables it reads."""
    inputs.clear()
    give_back_memory()  # what the in-memory tables held goes back to the system now
    found = load(snapshot, key)
    if found is None:  # the file this run has just written
        raise ReportError(f"the model snapshot {snapshot} cannot be read back; nothing was replaced")
    return found


def _abandon(pool: ProcessPoolExecutor | None, staging: Path | None) -> None:
    """A failed or stopped run: stop the workers and remove the staging folder."""
    _stop_pool(pool)
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


RUN_PREFIX = "kpi-run-"  # $TMPDIR/kpi-run-<pid>-XXXXXXXX: one run's kernel log and model snapshot


def _run_folder() -> Path:
    """Create this run's private folder in ``$TMPDIR``, named with this process's id and holding an
    empty ``kernels.log``, after removing the folders of this user's runs whose process is gone
    (killed outright, or a failed run's kept log)."""
    tmp = Path(tempfile.gettempdir())
    _sweep_run_folders(tmp)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=tmp))
        (folder / "kernels.log").touch()
        return folder
    except OSError as exc:
        raise ReportError(f"cannot create the run's private folder in {tmp}: {exc.strerror or exc}; "
                          "nothing was replaced") from None


def _sweep_run_folders(tmp: Path) -> None:
    """Remove ``kpi-run-<pid>-*`` folders of this user whose process no longer exists."""
    for folder in tmp.glob(f"{RUN_PREFIX}*-*"):
        found = re.fullmatch(rf"{RUN_PREFIX}(\d+)-.+", folder.name)
        try:
            mine = folder.lstat().st_uid == os.getuid() and folder.is_dir() and not folder.is_symlink()
        except OSError:
            continue
        if found and mine and not _process_exists(int(found[1])):
            shutil.rmtree(folder, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (any user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_note(log: Path) -> str:
    """How a :class:`ReportError` names the kernel log it keeps (see :func:`_end_run_folder`)."""
    return f"kernel log: {log}, kept until the next run"


def _end_run_folder(folder: Path, log: Path, error: BaseException | None) -> None:
    """Remove the run's private folder at the end of the run, whatever the outcome; the model
    snapshot never outlives the run. Only when the error's message names the kernel log is the
    log kept (alone), until the next run's sweep."""
    if isinstance(error, ReportError) and str(log) in str(error) and log.exists():
        for path in folder.iterdir():
            if path != log:
                _remove(path)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _for_kernels(data: str | None) -> str | None:
    """The data source as the kernels must see it: kernels run in the notebooks' folder, so a
    relative folder is made absolute here (a URL or the bundled sample passes unchanged)."""
    if data in (None, "sample", "database") or "://" in str(data):
        return data
    return str(Path(str(data)).expanduser().resolve())


def _start_pool(workers: int, log: Path, notebooks: Path,
                imports: Sequence[str] | None = None) -> ProcessPoolExecutor:
    """The pool of notebook workers; :func:`_spawn_workers` starts them (each with its kernel, in
    the notebooks' folder, warmed up with ``imports``: see :func:`warm_imports`)."""
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn"),
                               initializer=_start_worker, initargs=(log, notebooks, imports))


#: Inside :func:`kept_workers`: how many blocks are open, and the pool a finished pack left for the next
#: one, with its key (workers, notebooks folder). Outside, every pack starts its own.
_KEPT: dict[str, Any] = {"depth": 0, "pool": None, "key": None}


@contextlib.contextmanager
def kept_workers() -> Iterator[None]:
    """Build several packs in one process on the same workers (segments, languages, periods in a loop).

    Inside the block, a pack that succeeded leaves its workers, each with its warm kernel, for the
    next pack that needs no more workers, from the same notebook folder (the kernels' working
    folder); the block's end stops them.
    Each page still gets what a new kernel would (:func:`~kpilib.report.kernel.clean_slate`), and the
    run's variables, kernel log and temporary folder are handed to the workers with every page. The
    workers of a pack whose page failed, or that was stopped, are never reused; a pack refused before
    its pages ran (invalid data, a period without data) leaves them as they were. Saves a worker's
    start and its kernel's warm-up (3-5 s of CPU) on every pack after the first. ::

        with kept_workers():
            for segment in ("SMB", "Mid-Market", "Enterprise"):
                build_report("2025-12", segment=segment)
    """
    _KEPT["depth"] += 1
    try:
        yield
    finally:
        _KEPT["depth"] -= 1
        if _KEPT["depth"] == 0:
            pool, _KEPT["pool"], _KEPT["key"] = _KEPT["pool"], None, None
            if pool is not None:
                pool.shutdown(wait=True)


def _workers_for(workers: int, log: Path, notebooks: Path, names: Sequence[str], run: dict) -> None:
    """Put ``(pool, key)`` into ``run["pool"]``: the workers a pack runs its pages on, started; those a
    pack left inside :func:`kept_workers` when they fit (as many workers or more, the same notebook
    folder), else new ones. (Kept kernels warmed up for other pages are fine: the warm-up only saves
    time.) A new pool is put there before its first worker starts, so a signal that comes while they
    start finds it there, and the run stops them."""
    pool, kept, _KEPT["pool"] = _KEPT["pool"], _KEPT["key"], None
    if pool is not None and kept[1] == str(notebooks) and kept[0] >= workers and _alive(pool):
        run["pool"] = pool, kept
        return
    if pool is not None:  # kept for another kind of pack
        pool.shutdown(wait=True)
    pool = _start_pool(workers, log, notebooks, warm_imports(notebooks, names))
    run["pool"] = pool, (workers, str(notebooks))
    run["started"] = _spawn_workers(pool, workers)


def _keep_or_stop(run: dict) -> None:
    """The workers of a pack refused before its pages ran: kept for the next pack inside
    :func:`kept_workers` once they have started (they ran no page; a worker still starting would
    bind itself to this run's folder, which goes when the run ends), else stopped at once."""
    pool, key = run["pool"]
    try:
        if _KEPT["depth"] > 0:
            done, pending = wait(run.get("started", ()), timeout=KERNEL_START_SECONDS)
            if not pending and all(f.exception() is None for f in done) and _alive(pool):
                _release(pool, key)
                return
    except BaseException:  # a Ctrl-C while they start: stopped, as below
        _stop_pool(pool)
        raise
    _stop_pool(pool)


def _processes(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes (the executor keeps them privately; none once it is shut down)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _alive(pool: ProcessPoolExecutor) -> bool:
    processes = _processes(pool)
    return bool(processes) and all(p.is_alive() for p in processes) and not getattr(pool, "_broken", False)


def _release(pool: ProcessPoolExecutor, key: tuple) -> None:
    """A pack's pages are done: keep its workers for the next pack inside :func:`kept_workers`, else
    stop them (each worker's kernel goes with it)."""
    if _KEPT["depth"] > 0:
        _KEPT["pool"], _KEPT["key"] = pool, key
    else:
        pool.shutdown(wait=True, cancel_futures=True)


def warm_imports(notebooks: Path, names: Sequence[str]) -> tuple[str, ...] | None:
    """What a worker's kernel imports before its first page: ``None`` for the kit's own notebooks
    (:data:`~kpilib.report.kernel.WARM_IMPORTS`, which include what they import lazily); for a
    folder of one's own, the modules its notebooks' code cells import at their top level, in order
    (a cell that is not plain Python, such as one with an IPython magic, is skipped). So a kernel
    for a small notebook of one's own does not import the kit's plotting stack for nothing."""
    import ast

    if notebooks.resolve() == NOTEBOOKS_DIR.resolve():
        return None
    found: dict[str, None] = {}
    for name in names:
        try:
            cells = json.loads((notebooks / f"{name}.ipynb").read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue  # papermill reports an unreadable notebook when it runs it
        for cell in cells:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse("".join(source) if isinstance(source, list) else str(source))
            except (SyntaxError, ValueError):
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(a.name for a in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found[node.module] = None
    return tuple(found)


def _spawn_workers(pool: ProcessPoolExecutor, workers: int) -> list[Future]:
    """Start every worker now, so that their imports overlap the model's build; returns what is done
    once they have all started.

    They are spawned with SIGINT blocked (a signal mask survives ``exec``; a Python handler does
    not): a Ctrl-C to the process group while they import would otherwise print a
    ``KeyboardInterrupt`` traceback from each. Each worker ignores SIGINT, then unblocks it
    (:func:`~kpilib.report.worker.signal_default`). Here, a Ctrl-C that comes meanwhile still stops the run (through
    another thread, or when the mask is restored); the caller already holds the pool and stops it.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the mask as it is
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        # with "spawn", each submit starts one worker
        return [pool.submit(int) for _ in range(max(1, workers))]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _collect(jobs: dict, names: Sequence[str], tick: Callable[[str], None], log: Path) -> None:
    """Wait for every page; on the first failure cancel the rest and name the notebook and cell."""
    failures: list[NotebookResult] = []
    try:
        for fut in as_completed(list(jobs.values())):
            if fut.cancelled():  # cancelled after another notebook failed: not an error of its own
                continue
            result = fut.result()
            tick(f"rendered {result.name}")
            if not result.ok:
                failures.append(result)
                for other in jobs.values():
                    other.cancel()
    except BrokenProcessPool as exc:  # a worker was killed (OOM killer, kill -9)
        raise ReportError(f"a worker process running the notebooks died ({exc}); nothing was replaced "
                          f"({_log_note(log)})") from None
    if failures:
        first = min(failures, key=lambda r: names.index(r.name))
        where = f"cell {first.cell_index}" if first.cell_index is not None else "a cell"
        raise ReportError(
            f"notebook {first.name} failed in {where}: {first.ename}: {first.evalue}; nothing was replaced "
            f"({_log_note(log)})",
            notebook=first.name, cell_index=first.cell_index, ename=first.ename, evalue=first.evalue,
        )


def _stop_pool(pool: ProcessPoolExecutor | None) -> None:
    """Stop at once: cancel what has not started, terminate the workers (their kernels follow)."""
    if pool is None:
        return
    processes = _processes(pool)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=3)
            if proc.is_alive():
                proc.kill()


def _progress(progress: Callable[[int, str], None] | bool, total: int):
    if callable(progress):
        count = iter(range(1, total + 1))
        return None, lambda label: progress(next(count), label)
    if not progress:
        return None, lambda label: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="KPI report", unit="step")

    def tick(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    return bar, tick
