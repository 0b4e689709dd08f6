"""The optional goals file: targets per KPI and period, and dated annotations.

A data folder may hold ``goals.yaml`` beside its tables (docs/data-contract.md, "Goals and
annotations")::

    currency: USD            # optional: the currency of money goals (default: the data currency)
    goals:                   # KPI key of the registry -> period label -> target
      mrr:
        2025-12: 1_450_000
        2026-12: 2_000_000
      customer_churn_monthly:
        2025-12: 0.02        # rates are fractions: 0.02 is 2 %
    segments:                # optional: a segment pack's own goals (it never takes the company's)
      Enterprise:
        mrr: {2025-12: 700_000}
    annotations:             # dated events the charts mark
      - {date: 2025-05-01, label: Price change}

:func:`read_goals` checks the file's structure once, at the edge, and raises one
:class:`~kpilib.errors.GoalsError` naming the file, the key and the rule. What needs the KPI
registry (a known key, a rate written as a fraction) is checked by :mod:`kpilib.report.goals`
when a model is built, before any page is written; the currency is checked against ``fx_rates``
by :func:`check_goal_currency` when the folder is loaded. A folder without the file has no
goals: every page renders as it would without them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ..errors import GoalsError, PeriodError
from ..periods import parse_period
from .contract import CURRENCY_PATTERN, MONEY_MAX
from .dataset import Dataset

FILE_NAME = "goals.yaml"
#: Top-level keys of the file.
SECTIONS = ("currency", "goals", "segments", "annotations")
#: Longest annotation label (it is drawn on the charts).
LABEL_MAX = 40
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Goals:
    """The validated goals file.

    Attributes
    ----------
    targets
        One row per goal: ``segment`` (``""`` for the company's goals), ``kpi``, ``period`` (the
        canonical label: ``2025-12``, ``2025-Q4``, ``2025``) and ``value`` (float, in ``currency``
        for money KPIs, a fraction for rates).
    annotations
        ``date`` (Timestamp) and ``label``, oldest first.
    currency
        Currency of money goals; ``None``: the data currency.
    file
        Where the goals were read from.
    """

    targets: pd.DataFrame
    annotations: pd.DataFrame
    currency: str | None
    file: str


def empty_goals(file: str = "") -> Goals:
    """Goals with no target and no annotation (an empty file)."""
    return Goals(pd.DataFrame({"segment": pd.Series(dtype=str), "kpi": pd.Series(dtype=str),
                               "period": pd.Series(dtype=str), "value": pd.Series(dtype="float64")}),
                 pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"), "label": pd.Series(dtype=str)}),
                 None, file)


def _loader(file: str):
    """A safe YAML loader that refuses a key written twice (plain YAML keeps the last silently) and
    leaves dates as text."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise GoalsError(file, str(key), "key written twice in one mapping", key_node.start_mark.line + 1)
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    # dates stay text, checked by read_goals with the key named (YAML would raise a bare ValueError
    # on 2025-02-30)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
    return Loader


def _parse(path: Path) -> object:
    import yaml

    file = str(path)
    if not path.is_file():
        raise GoalsError(file, None, "no such file: give the path of a goals.yaml")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GoalsError(file, None, "file is not UTF-8 text: re-save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_loader(file))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GoalsError(file, None, f"not valid YAML: {problem}", mark.line + 1 if mark else None) from None


def _number(file: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (write rates as fractions: 0.02 for 2 %)" if isinstance(value, str) and "%" in value else ""
        raise GoalsError(file, key, f"a goal must be a number, not {value!r}{hint}")
    if not math.isfinite(value) or abs(value) > MONEY_MAX:
        raise GoalsError(file, key, f"a goal must be a finite number of at most {MONEY_MAX:g} in size, not {value!r}")
    return float(value)


def _targets(file: str, where: str, block: object, segment: str) -> list[tuple[str, str, str, float]]:
    """Rows (segment, kpi, period label, value) of one ``goals`` mapping."""
    if not isinstance(block, dict):
        raise GoalsError(file, where, "must map KPI keys (mrr, arr, nrr, ...) to their goals by period")
    rows = []
    for kpi, by_period in block.items():
        key = f"{where}.{kpi}"
        if not isinstance(kpi, str) or not _KEY.match(kpi):
            raise GoalsError(file, key, "a KPI key is lower-case letters, digits and _ (e.g. mrr, customer_churn)")
        if not isinstance(by_period, dict) or not by_period:
            raise GoalsError(file, key, "must map periods (2025-12, 2025-Q4, 2025) to a goal")
        labels: dict[str, str] = {}
        for period, value in by_period.items():
            at = f"{key}.{period}"
            try:
                label = parse_period(str(period)).label
            except PeriodError:
                raise GoalsError(file, at, "the period must be a month (2025-12), a quarter (2025-Q4) or a "
                                           "year (2025)") from None
            if label in labels:
                raise GoalsError(file, at, f"the same period as {key}.{labels[label]}")
            labels[label] = str(period)
            rows.append((segment, kpi, label, _number(file, at, value)))
    return rows


def _annotations(file: str, block: object) -> list[tuple[pd.Timestamp, str]]:
    if not isinstance(block, list):
        raise GoalsError(file, "annotations", "must be a list of {date: YYYY-MM-DD, label: text}")
    rows = []
    for i, item in enumerate(block):
        key = f"annotations[{i}]"
        if not isinstance(item, dict) or set(item) != {"date", "label"}:
            raise GoalsError(file, key, "each annotation has exactly a date (YYYY-MM-DD) and a label")
        day = item["date"]
        if isinstance(day, datetime):
            day = day.date()
        if not isinstance(day, date):
            try:
                day = date.fromisoformat(str(day))
            except ValueError:
                raise GoalsError(file, f"{key}.date", f"must be a date YYYY-MM-DD, not {item['date']!r}") from None
        label = item["label"]
        if not isinstance(label, str) or not label.strip() or len(label.strip()) > LABEL_MAX:
            raise GoalsError(file, f"{key}.label", f"must be text of 1 to {LABEL_MAX} characters (it is drawn "
                                                  "on the charts)")
        rows.append((pd.Timestamp(day), label.strip()))
    return rows


def read_goals(path: str | Path) -> Goals:
    """Read and check a goals file (see the module notes for its schema).

    Returns
    -------
    Goals
        Targets and annotations; an empty file gives :func:`empty_goals`.

    Raises
    ------
    GoalsError
        Naming the file, the key (a dotted path such as ``goals.mrr.2025-13``) and the rule: the
        file is not UTF-8 YAML, a key is written twice, a top-level key is unknown, a period does
        not parse or is written twice, a goal is not a finite number, the currency is not an ISO
        code, an annotation lacks a date or a label.
    """
    path = Path(path)
    file = str(path)
    doc = _parse(path)
    if doc is None:
        return empty_goals(file)
    if not isinstance(doc, dict):
        raise GoalsError(file, None, f"must be a mapping with the keys {', '.join(SECTIONS)}")
    unknown = [str(k) for k in doc if k not in SECTIONS]
    if unknown:
        raise GoalsError(file, unknown[0], f"unknown key; the file's keys are {', '.join(SECTIONS)}")
    currency = doc.get("currency")
    if currency is not None and not (isinstance(currency, str) and re.match(CURRENCY_PATTERN, currency)):
        raise GoalsError(file, "currency", f"must be an ISO 4217 code of 3 capital letters, not {currency!r}")
    rows = _targets(file, "goals", doc["goals"], "") if doc.get("goals") is not None else []
    segments = doc.get("segments")
    if segments is not None:
        if not isinstance(segments, dict):
            raise GoalsError(file, "segments", "must map segment names to their goals")
        for name, block in segments.items():
            rows += _targets(file, f"segments.{name}", block, str(name))
    notes = _annotations(file, doc["annotations"]) if doc.get("annotations") is not None else []
    empty = empty_goals(file)
    targets = pd.DataFrame(rows, columns=list(empty.targets.columns)) if rows else empty.targets
    annotations = (pd.DataFrame(notes, columns=["date", "label"]).astype({"date": "datetime64[us]"})
                   .sort_values("date", kind="stable").reset_index(drop=True)) if notes else empty.annotations
    return Goals(targets.astype({"value": "float64"}), annotations, currency, file)


def check_goal_currency(goals: Goals, fx_rates: pd.DataFrame | None, base_currency: str) -> None:
    """The goals' currency must convert to the base currency: a rate in ``fx_rates``, or, without
    that table, the base currency itself."""
    if goals.currency is None:
        return
    known = set(fx_rates["currency"]) if fx_rates is not None else {base_currency}
    if goals.currency not in known:
        raise GoalsError(goals.file, "currency", f"{goals.currency} has no rate in fx_rates "
                                                 f"(known: {', '.join(sorted(known))})")


def attach_goals(dataset: Dataset, path: str | Path) -> Dataset:
    """``dataset`` with the goals of the file at ``path`` (read, and their currency checked against
    the dataset's ``fx_rates``); it replaces any goals the dataset had."""
    from dataclasses import replace

    goals = read_goals(path)
    check_goal_currency(goals, dataset.fx_rates, dataset.base_currency)
    return replace(dataset, goals=goals)
