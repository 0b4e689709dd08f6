"""Restatements: figures of an earlier pack that the data no longer support.

By the as-of rule, new rows never change an earlier period's figures: the pack for 2025-11
built in January equals the one built on 1 December. A figure changes only when the past
itself was edited (a subscription back-dated, an amount corrected, a customer deleted) or
when the kit's definitions changed between the two builds. This module finds those changes:

- :func:`compare` is the pure comparison of two sets of stored figures and two sets of
  per-customer movements (``kpis.json`` and ``movements.csv`` rows);
- :func:`restatement_against` compares an earlier pack on disk with the same period rebuilt
  from today's data (what ``kpi report`` records in the new pack);
- :func:`diff_packs` compares two packs on disk (``kpi diff``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import KpiError
from ..i18n import N_, _
from ..periods import ReportPeriod, parse_period

if TYPE_CHECKING:
    from .model import KpiModel

#: the last digit kpis.json stores for each unit (money to the cent, counts whole, the rest 6 digits)
STORED_DIGITS = {"money": 2, "count": 0}
_OTHER_DIGITS = 6
_CENT = 0.005  # movements.csv amounts: half a cent apart is a change

FIGURE_COLUMNS = ["kpi", "label", "unit", "was", "now"]
ACCOUNT_COLUMNS = ["customer_id", "name", "month", "mrr_before_was", "mrr_before_now", "mrr_after_was",
                   "mrr_after_now", "movement_was", "movement_now"]


# The words a restatement records (in English: manifest.json and ``kpi diff`` keep them so) and the
# index shows in the reader's language: each is built from one of these messages, and :func:`shown`
# finds the message again to translate it.
REBUILT = N_("when rebuilt from this data")
_IN_PREVIOUS = N_("in the previous-period column of {pack}")
_IN_PACK = N_("in {pack}")
_OTHER_CURRENCY = N_("not compared: that pack is in {was}, this one in {now}")
_NOT_COMPARED = N_("not compared: {reason}")
_NO_MANIFEST = N_("that pack has no manifest: a change of the kit's definitions would also show here")
_OTHER_COMMIT = N_("that pack was built by kit commit {was}, this one by {now}: a change of definition between "
                   "them would also show here")
_CUSTOMERS_ELSEWHERE = N_("the customers behind these changes are listed by {new}'s own build only when it was "
                          "built beside {old}")
_MESSAGES = (REBUILT, _IN_PREVIOUS, _IN_PACK, _OTHER_CURRENCY, _NOT_COMPARED, _NO_MANIFEST, _OTHER_COMMIT,
             _CUSTOMERS_ELSEWHERE)  # the more specific first


def _pattern(message: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", message)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)),
                      re.DOTALL)


_PATTERNS = tuple((_pattern(m), m) for m in _MESSAGES)


def shown(text: str) -> str:
    """A restatement's recorded words (``later``, ``skipped``, ``caveat``) in the reader's language;
    words of no known message as they are."""
    for pattern, message in _PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return _(message).format(**found.groupdict())
    return text


def stored_value(value: float, unit: str) -> float | None:
    """A figure as ``kpis.json`` stores it: rounded to its unit's last digit; ``None`` if undefined."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), STORED_DIGITS.get(unit, _OTHER_DIGITS))


def _differs(was: float | None, now: float | None, unit: str) -> bool:
    if was is None or now is None:
        return (was is None) != (now is None)
    step = 10.0 ** -STORED_DIGITS.get(unit, _OTHER_DIGITS)
    return abs(now - was) > step / 2  # both rounded to the same digit: any change of that digit


@dataclass(frozen=True)
class Restatement:
    """What changed in the figures of one earlier pack (``against``, for ``period``)."""

    against: str
    period: str
    figures: pd.DataFrame  # FIGURE_COLUMNS: the headline figures whose stored value changed
    accounts: pd.DataFrame  # ACCOUNT_COLUMNS: the customers and months whose MRR or movement changed
    caveat: str = ""  # e.g. the two packs were built by different kit commits
    skipped: str = ""  # why the packs were not compared (then figures and accounts are empty)
    currency: str = "USD"  # the packs' base currency, for showing the amounts
    later: str = REBUILT  # where the later figures come from, for the note
    accounts_compared: bool = True  # False when only the figures were in both packs

    @property
    def changed(self) -> bool:
        return len(self.figures) > 0 or len(self.accounts) > 0

    def to_dict(self) -> dict:
        clean = lambda frame: [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)  # noqa: E731
                                for k, v in row.items()} for row in frame.astype(object).to_dict("records")]
        return {"against": self.against, "period": self.period, "caveat": self.caveat, "skipped": self.skipped,
                "currency": self.currency, "later": self.later, "accounts_compared": self.accounts_compared,
                "figures": clean(self.figures), "accounts": clean(self.accounts)}

    @classmethod
    def from_dict(cls, doc: dict) -> Restatement:
        return cls(doc["against"], doc["period"], pd.DataFrame(doc["figures"], columns=FIGURE_COLUMNS),
                   pd.DataFrame(doc["accounts"], columns=ACCOUNT_COLUMNS), doc.get("caveat", ""),
                   doc.get("skipped", ""), doc.get("currency", "USD"), doc.get("later", REBUILT),
                   doc.get("accounts_compared", True))

    def lines(self, limit: int | None = 20) -> list[str]:
        """The comparison as text (``kpi diff``): the note, each changed figure, the first
        ``limit`` customer-months (all with ``None``)."""
        from .format import format_pair

        out = [self.note() + "."]
        for f in self.figures.itertuples():
            was, now = format_pair(f.was, f.now, f.unit, self.currency)
            out.append(f"  {f.label}: {was} -> {now}")
        shown = self.accounts if limit is None else self.accounts.head(limit)
        for a in shown.itertuples():
            was, now = format_pair(a.mrr_after_was, a.mrr_after_now, "money", self.currency)
            out.append(f"  {a.customer_id} {a.name} {a.month}: MRR {was} ({a.movement_was}) -> "
                       f"{now} ({a.movement_now})")
        if len(shown) < len(self.accounts):
            out.append(f"  ... {len(self.accounts) - len(shown):,} more customer-months (--all lists them)")
        if self.caveat and self.changed:
            out.append(f"Note: {self.caveat}.")
        return out

    @property
    def shown_caveat(self) -> str:
        """:attr:`caveat` in the reader's language (the field stays English for manifest.json)."""
        return shown(self.caveat) if self.caveat else ""

    def note(self) -> str:
        """The sentence the index and ``kpi diff`` print (:func:`~kpilib.report.titles.restatement_note`),
        in the reader's language."""
        from .titles import restatement_note

        return restatement_note(parse_period(self.period).title, len(self.figures), len(self.accounts),
                                self.accounts["customer_id"].nunique(), later=shown(self.later),
                                accounts_compared=self.accounts_compared,
                                not_compared=shown(self.skipped) if self.skipped else "")


def compare(was_figures: pd.DataFrame, now_figures: pd.DataFrame, was_moves: pd.DataFrame,
            now_moves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The figures and the accounts that differ between two builds of the same months.

    ``*_figures`` have columns ``kpi, label, unit, value`` (values as stored, ``None`` when
    undefined); only KPIs present in both are compared. ``*_moves`` have the columns of
    ``movements.csv``; a customer present in one only counts as MRR 0 in the other.
    Returns ``(figures, accounts)`` with :data:`FIGURE_COLUMNS` and :data:`ACCOUNT_COLUMNS`,
    accounts sorted by the size of the change, largest first.
    """
    both = was_figures[["kpi", "label", "unit", "value"]].merge(
        now_figures[["kpi", "value"]], on="kpi", suffixes=("_was", "_now"))
    rows = [(r.kpi, r.label, r.unit, _none(r.value_was), _none(r.value_now)) for r in both.itertuples()
            if _differs(_none(r.value_was), _none(r.value_now), r.unit)]
    figures = pd.DataFrame(rows, columns=FIGURE_COLUMNS)

    key = ["customer_id", "month"]
    cols = ["customer_id", "name", "month", "mrr_before", "mrr_after", "movement"]
    m = was_moves[cols].merge(now_moves[cols], on=key, how="outer", suffixes=("_was", "_now"))
    for side in ("was", "now"):
        for amount in ("mrr_before", "mrr_after"):
            m[f"{amount}_{side}"] = pd.to_numeric(m[f"{amount}_{side}"]).fillna(0.0)
        m[f"movement_{side}"] = m[f"movement_{side}"].fillna("none")
    m["name"] = m["name_now"].fillna(m["name_was"])
    moved = ((m["mrr_before_now"] - m["mrr_before_was"]).abs() > _CENT) | \
            ((m["mrr_after_now"] - m["mrr_after_was"]).abs() > _CENT) | (m["movement_now"] != m["movement_was"])
    accounts = m.loc[moved, ACCOUNT_COLUMNS].copy()
    size = (accounts["mrr_after_now"] - accounts["mrr_after_was"]).abs() + \
        (accounts["mrr_before_now"] - accounts["mrr_before_was"]).abs()
    order = np.lexsort((accounts["customer_id"].astype(str).to_numpy(), accounts["month"].astype(str).to_numpy(),
                        -size.to_numpy()))
    return figures, accounts.iloc[order].reset_index(drop=True)


def _none(v: object) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- packs on disk


def read_pack(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """``(kpis.json, its kpis as a frame, movements.csv)`` of a pack folder."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        moves = pd.read_csv(folder / "movements.csv", dtype={"customer_id": str, "name": str, "month": str,
                                                              "movement": str}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise KpiError(f"{folder} is not a readable report pack (kpis.json and movements.csv): {exc}") from None
    figures = pd.DataFrame(doc["kpis"], columns=["kpi", "label", "unit", "value", "previous", "year_ago"])
    return doc, figures, moves


def earlier_pack(out_root: Path, period: ReportPeriod, folder: str) -> Path | None:
    """The latest pack of an earlier period of the same kind and scope beside ``folder``.

    ``reports/2025-11`` for ``2025-12``; ``reports/2025-Q3-segment-smb`` for
    ``2025-Q4-segment-smb``. Folders that are not packs are ignored."""
    suffix = folder[len(period.label):]  # "" or "-segment-<slug>"
    found: list[tuple[ReportPeriod, Path]] = []
    for candidate in out_root.iterdir() if out_root.is_dir() else ():
        label = candidate.name[: len(candidate.name) - len(suffix)] if suffix else candidate.name
        if not candidate.is_dir() or not candidate.name.endswith(suffix) or "-segment-" in label:
            continue
        try:
            other = parse_period(label)
        except KpiError:
            continue
        if other.kind == period.kind and other.last < period.last and (candidate / "kpis.json").is_file():
            found.append((other, candidate))
    return max(found, key=lambda f: f[0].last)[1] if found else None


def restatement_against(earlier: Path, model: KpiModel) -> Restatement:
    """The earlier pack's figures against the same period rebuilt from the model's data."""
    from .export import movement_rows, neutralise
    from .overview import headline_kpis

    doc, was_figures, was_moves = read_pack(earlier)
    period = parse_period(doc["period"])
    if doc.get("base_currency") != model.base_currency:
        return Restatement(earlier.name, period.label, pd.DataFrame(columns=FIGURE_COLUMNS),
                           pd.DataFrame(columns=ACCOUNT_COLUMNS),
                           skipped=_OTHER_CURRENCY.format(was=doc.get("base_currency"), now=model.base_currency))
    rebuilt = model.at(period)
    now = headline_kpis(rebuilt)
    now_figures = now.assign(value=[stored_value(v, u) for v, u in zip(now["value"], now["unit"])])
    now_moves = neutralise(movement_rows(rebuilt))  # as movements.csv stores them
    figures, accounts = compare(was_figures, now_figures, was_moves, now_moves)
    return Restatement(earlier.name, period.label, figures, accounts, _kit_caveat(earlier),
                       currency=model.base_currency)


def _kit_caveat(earlier: Path) -> str:
    from .manifest import kit_commit

    try:
        built_by = json.loads((earlier / "manifest.json").read_text(encoding="utf-8")).get("kit_commit")
    except (OSError, ValueError):
        return _NO_MANIFEST
    now = kit_commit()
    if built_by and now and built_by != now:
        return _OTHER_COMMIT.format(was=built_by[:12], now=now[:12])
    return ""


def diff_packs(old: Path, new: Path) -> Restatement:
    """``kpi diff OLD NEW``: what changed from one pack to the other.

    - ``NEW`` recorded a comparison against ``OLD`` when it was built: that comparison;
    - the same period in both: every stored figure and every customer-month of movements.csv;
    - ``OLD`` is ``NEW``'s previous period: ``OLD``'s figures against ``NEW``'s "previous"
      column (the customers are not in both packs: the comparison recorded at build time has them).
    """
    old, new = Path(old), Path(new)
    old_doc, old_figures, old_moves = read_pack(old)
    new_doc, new_figures, new_moves = read_pack(new)
    try:
        recorded = json.loads((new / "manifest.json").read_text(encoding="utf-8")).get("restatement")
    except (OSError, ValueError):
        recorded = None
    if recorded and recorded.get("against") == old.name and recorded.get("period") == old_doc["period"]:
        return Restatement.from_dict(recorded)
    if old_doc.get("base_currency") != new_doc.get("base_currency"):
        raise KpiError(f"the packs are in different currencies ({old_doc.get('base_currency')} and "
                       f"{new_doc.get('base_currency')}): their figures cannot be compared")
    old_period, new_period = parse_period(old_doc["period"]), parse_period(new_doc["period"])
    if old_period.label == new_period.label:
        figures, accounts = compare(old_figures, new_figures, old_moves, new_moves)
        return Restatement(old.name, old_period.label, figures, accounts, currency=new_doc["base_currency"],
                           later=_IN_PACK.format(pack=new))
    if new_period.previous().label == old_period.label:
        now = new_figures.assign(value=new_figures["previous"])
        figures, _ = compare(old_figures, now, old_moves.iloc[0:0], old_moves.iloc[0:0])
        return Restatement(old.name, old_period.label, figures, pd.DataFrame(columns=ACCOUNT_COLUMNS),
                           _CUSTOMERS_ELSEWHERE.format(new=new.name, old=old.name), currency=new_doc["base_currency"],
                           later=_IN_PREVIOUS.format(pack=new), accounts_compared=False)
    raise KpiError(f"{old.name} ({old_period.label}) and {new.name} ({new_period.label}) share no period: "
                   "kpi diff compares two packs of the same period, or a pack with the one just before it")


def restatement_beside(out_root: Path, period: ReportPeriod, folder: str, model: KpiModel) -> Restatement | None:
    """The comparison ``kpi report`` records: against the latest earlier pack beside the new one,
    if any. An unreadable earlier pack is reported as not compared; it never stops the run."""
    earlier = earlier_pack(out_root, period, folder)
    if earlier is None:
        return None
    try:
        return restatement_against(earlier, model)
    except KpiError as exc:
        label = parse_period(earlier.name[: len(earlier.name) - len(folder) + len(period.label)]).label
        return Restatement(earlier.name, label, pd.DataFrame(columns=FIGURE_COLUMNS),
                           pd.DataFrame(columns=ACCOUNT_COLUMNS), skipped=_NOT_COMPARED.format(reason=exc))
