"""``kpi``: the command line, a thin wrapper over :func:`kpilib.build_report`.

Exit codes
----------
0  success
1  unexpected internal error (please report it; rerun with --debug)
2  bad command line (argparse)
3  the data break the contract (ContractError; GoalsError for the goals file)
4  the period cannot be parsed or has no data (PeriodError)
5  the report could not be built: a notebook failed or the output is not writable (ReportError)
6  any other refusal by the kit (KpiError)
130 interrupted (Ctrl-C, SIGINT); the previous pack is untouched
143 stopped by SIGTERM (a scheduler's timeout or shutdown); the previous pack is untouched
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from .errors import ContractError, KpiError, PeriodError, ReportError
from .i18n import PSEUDO, languages

EXIT_CODES = {ContractError: 3, PeriodError: 4, ReportError: 5, KpiError: 6}

_DATA_HELP = ("data source: a folder with one <table>.csv or <table>.parquet per contract table, "
              "a database URL (postgresql+psycopg://..., duckdb:///file.duckdb), a Spark URL "
              "(spark://local[2]?parquet=FOLDER, spark://HOST:7077?database=NAME), or 'database' to read "
              "the URL from KPI_DATABASE_URL (default: the bundled sample company)")

_GOALS_HELP = ("a goals.yaml of targets and annotations, used instead of the data folder's own "
               "(the only way to give a database source goals; default: the folder's goals.yaml, if any)")


_WORD = re.compile(r"[^\s'\"]+")  # a run without spaces or quotes: where a URL can hide
# postgresql+psycopg:// (or :/, mistyped), also after a folder ('/work/postgresql:/u:pw@h', a relative
# --data made absolute); the look-behind lets a search start only where a name starts: linear
_SCHEME = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:/+")


def mask_secrets(text: str) -> str:
    """Mask anything shaped like ``user:password@`` in a message, however the URL was mistyped:
    ``u:pa/ss@host``, ``u:p@ss@host`` and ``:pw@host`` (no user) become ``u:***@host`` and
    ``:***@host``. Linear in the length of the text (no regular-expression backtracking)."""
    return _WORD.sub(lambda m: _mask_word(m[0]), text)


def _mask_word(word: str) -> str:
    """One word with its password masked: from the first ``:`` after the scheme to the last ``@``; a
    word without both is returned as it is. After ``x:/`` with one slash, which may be a user and a
    password that starts with ``/`` as well as a mistyped scheme, the first ``:`` of all will do."""
    at = word.rfind("@")
    if at < 0:
        return word
    scheme = _SCHEME.search(word, 0, at)
    colon = word.find(":", scheme.end() if scheme else 0, at)
    if colon < 0 and scheme and not scheme[0].endswith("//"):
        colon = word.find(":", 0, at)
    if colon < 0 or colon + 1 == at:
        return word
    return f"{word[:colon]}:***{word[at:]}"


def _text(what: str):
    """An argparse type refusing an empty value (what ``--data "$UNSET_VARIABLE"`` becomes)."""
    def check(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"{what} is empty (an unset shell variable?)")
        return value
    return check


def _in_range(what: str, low: int, high: int | None):
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, not {number}")
        return number
    return check


def _check_notebooks(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Notebooks are named, never given as paths, so nothing is written outside the pack."""
    from .report.sitemap import NOTEBOOKS

    folder = Path(args.notebook_dir).expanduser() if args.notebook_dir else None
    if folder is not None and not folder.is_dir():
        parser.error(f"--notebook-dir {folder} is not a folder")
    if folder is not None and not any(folder.glob("*.ipynb")):
        parser.error(f"--notebook-dir {folder} holds no notebook (*.ipynb)")
    for name in args.notebooks or []:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            parser.error(f"--notebooks takes notebook names, not paths: {name!r}")
        if folder is None and name not in NOTEBOOKS:
            parser.error(f"{name!r} is not one of the kit's notebooks: {', '.join(NOTEBOOKS)}")
        if folder is not None and not (folder / f"{name}.ipynb").is_file():
            parser.error(f"{folder} has no notebook {name}.ipynb")


def _check_data(parser: argparse.ArgumentParser, data: str | None) -> None:
    """``--data sample`` must not silently mean the bundled company when ./sample is the user's."""
    if data == "sample" and Path("sample").exists():
        parser.error("--data sample is ambiguous: ./sample exists here. Use --data ./sample for that "
                     "folder, or leave --data out for the bundled sample company.")


def _report_languages() -> list[str]:
    """The choices of ``kpi report --lang``: every language with a catalog (kpilib.i18n.languages),
    and ``xx``, the pseudo-language that shows every translated message in brackets (for finding
    unmarked words; not listed in the help)."""
    return [*languages(), PSEUDO]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpi",
        description="B2B SaaS KPI kit: build shareable HTML KPI reports from a documented data contract.",
        epilog="Exit codes: 0 ok, 2 bad arguments, 3 data contract error, 4 bad or uncovered period, "
               "5 report failed, 6 other kit error, 1 internal error. See README.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rep = sub.add_parser(
        "report", help="build the report pack for a period",
        description="Run every notebook for one period and write reports/<period>/ "
                    "(HTML reports, executed notebooks, index.html). The previous pack is "
                    "replaced only when the new one is complete.",
    )
    rep.add_argument("--period", type=_text("--period"), help="a month 2025-12, a quarter 2025-Q4 or a year 2025 "
                     "(default: the latest complete month of the data)")
    rep.add_argument("--data", type=_text("--data"), help=_DATA_HELP)
    rep.add_argument("--out", type=_text("--out"), help="parent folder of the pack (default: reports/ in the project)")
    rep.add_argument("--base-currency", default="USD", type=_text("--base-currency"),
                     help="ISO 4217 reporting currency (default: USD)")
    rep.add_argument("--segment", default="all", type=_text("--segment"),
                     help="only accounts of this segment (default: all)")
    rep.add_argument("--notebook-dir", metavar="DIR", type=_text("--notebook-dir"),
                     help="run the notebooks of this folder instead of the kit's (your own pages; outputs "
                          "still go only into the pack)")
    rep.add_argument("--notebooks", nargs="+", metavar="NAME",
                     help="run only these notebooks, e.g. 00_overview 01_revenue")
    rep.add_argument("--workers", type=_in_range("--workers", 1, 4 * (os.cpu_count() or 1)), default=2,
                     help="notebooks run in parallel, 1 to 4 x the CPU count (default: 2)")
    rep.add_argument("--timeout", type=_in_range("--timeout", 1, None), default=600,
                     help="seconds allowed per cell, at least 1 (default: 600)")
    rep.add_argument("--goals", metavar="FILE", type=_text("--goals"), help=_GOALS_HELP)
    rep.add_argument("--lang", default="en", choices=_report_languages(), metavar="LANG",
                     help="the language of the pack's words, numbers and dates: "
                          f"{', '.join(languages())} (default: en). Another language than English "
                          "is written to reports/<period>-<LANG>/ (e.g. reports/2025-12-fr/), beside the "
                          "English pack; kpis.json and the CSV files stay English")
    rep.add_argument("--no-progress", action="store_true", help="do not show the progress bar")

    val = sub.add_parser("validate", help="check a data source against the contract",
                         description="Load every table, check it against the data contract and "
                                     "print a summary; exits 3 on the first violation.")
    val.add_argument("--data", type=_text("--data"), help=_DATA_HELP)
    val.add_argument("--base-currency", default="USD", type=_text("--base-currency"),
                     help="ISO 4217 reporting currency (default: USD)")
    val.add_argument("--goals", metavar="FILE", type=_text("--goals"), help=_GOALS_HELP)

    sam = sub.add_parser("sample-data", help="generate the deterministic sample company",
                         description="Write the sample B2B SaaS company (36 months, about 2,000 "
                                     "accounts) as one CSV per contract table, and its goals.yaml; a "
                                     "folder that already holds any of them is left alone unless --force.")
    sam.add_argument("--out", required=True, type=_text("--out"), help="folder to write the CSV files to")
    sam.add_argument("--force", action="store_true",
                     help="replace the tables (.csv or .parquet) and goals.yaml already in the folder")
    sam.add_argument("--seed", type=_in_range("--seed", 0, None), default=None,
                     help="random seed, 0 or more (default: the bundled seed)")

    load = sub.add_parser("load", help="copy a contract folder into a database or Spark",
                          description="Validate a data source and write every table into a database "
                                      "or Spark (replacing tables of the same names).")
    load.add_argument("--data", type=_text("--data"), help=_DATA_HELP)
    load.add_argument("--to", required=True, metavar="URL",
                      help="target SQLAlchemy URL, 'database' for KPI_DATABASE_URL, or a Spark "
                           "target: spark://local[2]?parquet=FOLDER or spark://HOST:7077?database=NAME")
    load.add_argument("--schema", help="database schema to write into (default: the URL's default)")

    nbs = sub.add_parser("notebooks", help="copy the kit's notebooks into a folder, for JupyterLab",
                         description="Copy the report notebooks (00_overview ... 06_forecast) into DIR to explore "
                                     "them in JupyterLab; existing files are kept unless --force.")
    nbs.add_argument("dir", metavar="DIR", type=_text("DIR"), help="folder to copy the notebooks into")
    nbs.add_argument("--force", action="store_true", help="overwrite notebooks already in DIR")

    sub.add_parser("contract", help="print the data contract as Markdown")

    dif = sub.add_parser("diff", help="what changed between two report packs (restatements)",
                         description="Compare two report packs: the same period built twice, or a pack "
                                     "and the one of the period just before it. Prints every headline "
                                     "figure whose stored value changed and the customers behind it. When "
                                     "NEW was built beside OLD, prints the comparison NEW recorded then.")
    dif.add_argument("old", metavar="OLD", type=_text("OLD"), help="the earlier pack folder, e.g. reports/2025-11")
    dif.add_argument("new", metavar="NEW", type=_text("NEW"), help="the later pack folder, e.g. reports/2025-12")
    dif.add_argument("--all", action="store_true", help="list every changed customer-month (default: 20)")
    return parser


def _cmd_report(args: argparse.Namespace) -> int:
    from .report.kernel import freeze_imports
    from .report.runner import build_report

    if _AS_COMMAND["on"]:  # the command's process lives for one pack (never an in-process caller's)
        freeze_imports()  # the runner's imports stay out of the collections the load triggers
    pack = build_report(args.period, data=args.data, out=args.out, base_currency=args.base_currency,
                        segment=args.segment, notebooks=args.notebooks, workers=args.workers,
                        notebook_dir=args.notebook_dir,
                        timeout=args.timeout, goals=args.goals, progress=not args.no_progress, lang=args.lang)
    print(f"report pack written to {pack}")
    print(f"open {pack / 'index.html'}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .data.load import load_dataset

    ds = load_dataset(args.data, base_currency=args.base_currency, goals=args.goals)
    if ds.goals is not None:  # the rules that need the KPI registry (kpilib.report.goals)
        from .report.goals import check_goals

        check_goals(ds.goals)
    print(f"{ds.source}: valid")
    for name, df in ds.tables.items():
        print(f"  {name:<18} {len(df):>9,} rows")
    if ds.goals is not None:
        print(f"  {'goals.yaml':<18} {len(ds.goals.targets):>9,} goals, {len(ds.goals.annotations):,} annotations")
    print(f"  data from {ds.data_start.date()} to {ds.data_end.date()}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from .data.contract import TABLES
    from .data.goals import FILE_NAME as GOALS_FILE
    from .data.sample import DEFAULT_SEED, generate_sample
    from .errors import KpiError

    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise KpiError(f"--out {args.out} is a file, not a folder: nothing was written")
    # a contract folder's own tables (perhaps the company's real data) are never replaced by mistake;
    # a Parquet file beside the new CSV would make the folder hold a table twice
    held = [f"{name}.{ext}" for name in TABLES for ext in ("csv", "parquet") if (out / f"{name}.{ext}").exists()]
    held += [GOALS_FILE] if (out / GOALS_FILE).exists() else []
    if held and not args.force:
        raise KpiError(f"--out {args.out} already holds {', '.join(held)}: nothing was written "
                       "(use --force to replace them)")
    # --force: a table held as Parquet is replaced by the new CSV, not left beside it (a folder with both
    # is refused by every reader)
    replaced = [name for name in held if name.endswith(".parquet")]
    for name in replaced:
        (out / name).unlink()
    paths = generate_sample(args.out, seed=DEFAULT_SEED if args.seed is None else args.seed)
    gone = f" (removed {', '.join(replaced)}: the CSV replaces it)" if replaced else ""
    print(f"wrote {len(paths) - 1} tables and goals.yaml to {args.out}{gone}")
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from .data.databases import database_url_from_env, load_folder_into_database, mask_url
    from .data.load import load_dataset
    from .data.spark import is_spark_url, load_into_spark

    url = database_url_from_env() if args.to == "database" else args.to
    if is_spark_url(url):
        written = load_into_spark(load_dataset(args.data), url)
    else:
        written = load_folder_into_database(load_dataset(args.data), url, schema=args.schema)
    print(f"loaded {sum(written.values()):,} rows in {len(written)} tables into {mask_url(url)}")
    return 0


def _cmd_notebooks(args: argparse.Namespace) -> int:
    import shutil

    from .errors import KpiError
    from .paths import NOTEBOOKS_DIR
    from .report.sitemap import NOTEBOOKS

    target = Path(args.dir).expanduser()
    if target.exists() and not target.is_dir():
        raise KpiError(f"{target} is a file, not a folder: nothing was copied")
    sources = [NOTEBOOKS_DIR / f"{name}.ipynb" for name in NOTEBOOKS]
    clash = [s.name for s in sources if (target / s.name).exists()]
    if clash and not args.force:
        raise KpiError(f"{target} already has {', '.join(clash)}: nothing was copied (use --force to overwrite)")
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copyfile(source, target / source.name)
    print(f"copied {len(sources)} notebooks to {target}; open them with: jupyter lab {target}")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from .report.restatement import diff_packs

    print("\n".join(diff_packs(Path(args.old), Path(args.new)).lines(None if args.all else 20)))
    return 0


def _cmd_contract(args: argparse.Namespace) -> int:
    from .data.contract import contract_markdown

    print(contract_markdown())
    return 0


COMMANDS = {"report": _cmd_report, "validate": _cmd_validate, "sample-data": _cmd_sample,
            "load": _cmd_load, "notebooks": _cmd_notebooks, "contract": _cmd_contract, "diff": _cmd_diff}


def _stop_on_signals(command: str) -> contextlib.AbstractContextManager:
    """For ``report``, SIGTERM and SIGINT stop the run with one line from the very start (data loading
    included), not only once the pack is being built; other commands keep Python's defaults."""
    if command != "report":
        return contextlib.nullcontext()
    from .report.runner import stop_on_signals

    return stop_on_signals(_end_later if _AS_COMMAND["on"] else None)


#: Seconds a ``kpi report`` stopped by a signal has to end (stop its workers, remove its staging
#: folder, print its line) before the process ends anyway, with the same exit code. A process pool
#: stopped while its workers start can leave a thread that Python's exit joins without a timeout
#: (seen twice in the fault tests, under load); a scheduled job must never hang on it.
STOP_GRACE_SECONDS = 15
_AS_COMMAND = {"on": False}  # set by run(): in-process callers of main() are never ended


def _end_later(signum: int) -> None:
    """End this process :data:`STOP_GRACE_SECONDS` from now with 128 + ``signum`` unless it has ended by
    then (a daemon timer: a run that ends in time never hears of it)."""
    def end() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)

    timer = threading.Timer(STOP_GRACE_SECONDS, end)
    timer.daemon = True
    timer.start()


def run() -> None:
    """The ``kpi`` command (and ``python -m kpilib.cli``): :func:`main`, its exit bounded after a stop."""
    _AS_COMMAND["on"] = True
    code = main()
    # the interpreter's last collections would walk every object of the run (0.7 s after a sample
    # pack) to free nothing that matters: every command closes what it writes before it returns (a
    # rule for new ones: a file left to a finalizer in a reference cycle would not be flushed now)
    gc.freeze()
    sys.exit(code)


def _print_traceback() -> None:
    """``--debug``: the full traceback, with anything shaped like ``user:password@`` masked."""
    print(mask_secrets(traceback.format_exc()), end="", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_data(parser, getattr(args, "data", None))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ResourceWarning)  # a driver's sockets (py4j's, for Spark), not the data
        warnings.showwarning = lambda msg, cat, *a, **k: print(f"warning: {mask_secrets(str(msg))}",
                                                                file=sys.stderr)
        try:
            with _stop_on_signals(args.command):
                if args.command == "report":
                    _check_notebooks(parser, args)
                return COMMANDS[args.command](args)
        except KeyboardInterrupt as exc:
            return _stopped(exc)
        except KpiError as exc:
            if args.debug:
                _print_traceback()
            kind = type(exc).__name__
            print(f"error ({kind}): {mask_secrets(str(exc))}", file=sys.stderr)
            return next(code for cls, code in EXIT_CODES.items() if isinstance(exc, cls))
        except Exception as err:
            if args.debug:
                _print_traceback()
            else:
                print(f"internal error: {type(err).__name__}: {mask_secrets(str(err))} "
                      "(rerun with --debug for details)", file=sys.stderr)
            return 1


def _stopped(exc: KeyboardInterrupt) -> int:
    """The one line of a run stopped by a signal, and its exit code (128 + the signal number)."""
    signum = getattr(exc, "signum", 2)  # Ctrl-C is SIGINT (2)
    name = "SIGTERM" if signum == 15 else "SIGINT"
    replaced = getattr(exc, "replaced", None)
    if replaced is not None:  # the signal came during the final renames, which were let finish
        print(f"stopped by {name}: the new pack was already in place at {replaced}", file=sys.stderr)
    else:
        print(f"stopped by {name}: nothing was replaced, no staging folder left", file=sys.stderr)
    return 128 + signum


if __name__ == "__main__":
    run()
