"""Reporting periods: a month ``2025-12``, a quarter ``2025-Q4`` or a year ``2025``.

papermill hands periods over as strings; :func:`parse_period` turns them into a
small frozen :class:`ReportPeriod` once, and every other function takes that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from .errors import PeriodError

Kind = Literal["month", "quarter", "year"]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
#: Months in a report period of each kind.
MONTHS_IN_PERIOD = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class ReportPeriod:
    """A reporting period made of whole calendar months.

    Attributes
    ----------
    kind
        ``"month"``, ``"quarter"`` or ``"year"``.
    first, last
        First and last calendar month, as ``pandas.Period`` with freq ``M``.
    """

    kind: Kind
    first: pd.Period
    last: pd.Period

    @property
    def label(self) -> str:
        """Canonical string: ``2025-12``, ``2025-Q4`` or ``2025``."""
        if self.kind == "month":
            return str(self.first)
        if self.kind == "quarter":
            return f"{self.first.year}-Q{self.first.quarter}"
        return str(self.first.year)

    @property
    def title(self) -> str:
        """Human title, in the current language: ``December 2025``, ``Q4 2025`` or ``Year 2025``."""
        from kpilib.i18n import _, month_name

        if self.kind == "month":
            return month_name(self.first)
        if self.kind == "quarter":
            return _("Q{quarter} {year}").format(quarter=self.first.quarter, year=self.first.year)
        return _("Year {year}").format(year=self.first.year)

    @property
    def months(self) -> pd.PeriodIndex:
        """Calendar months in the period, oldest first."""
        return pd.period_range(self.first, self.last, freq="M", name="month")

    @property
    def n_months(self) -> int:
        return MONTHS_IN_PERIOD[self.kind]

    @property
    def start_date(self) -> pd.Timestamp:
        """First day of the period."""
        return self.first.start_time.normalize()

    @property
    def end_date(self) -> pd.Timestamp:
        """Last day of the period (inclusive)."""
        return self.last.end_time.normalize()

    def shift(self, n: int) -> ReportPeriod:
        """The period ``n`` periods of the same kind later (negative: earlier)."""
        step = n * self.n_months
        return ReportPeriod(self.kind, self.first + step, self.last + step)

    def previous(self) -> ReportPeriod:
        """The period just before, of the same kind."""
        return self.shift(-1)

    def year_ago(self) -> ReportPeriod:
        """The same period one year earlier."""
        return ReportPeriod(self.kind, self.first - 12, self.last - 12)

    def quarter(self) -> ReportPeriod:
        """The calendar quarter containing this period's last month (NPS surveys run quarterly)."""
        first = self.last - (self.last.month - 1) % 3
        return ReportPeriod("quarter", first, first + 2)

    def __str__(self) -> str:
        return self.label


def parse_period(value: str | ReportPeriod) -> ReportPeriod:
    """Parse ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` into a :class:`ReportPeriod`.

    Raises
    ------
    PeriodError
        If the string matches none of the three forms.
    """
    if isinstance(value, ReportPeriod):
        return value
    text = str(value).strip()
    if m := _MONTH.match(text):
        p = pd.Period(f"{m[1]}-{m[2]}", freq="M")
        return ReportPeriod("month", p, p)
    if m := _QUARTER.match(text):
        first = pd.Period(f"{m[1]}-{3 * int(m[2]) - 2:02d}", freq="M")
        return ReportPeriod("quarter", first, first + 2)
    if m := _YEAR.match(text):
        first = pd.Period(f"{m[1]}-01", freq="M")
        return ReportPeriod("year", first, first + 11)
    raise PeriodError(
        f"period {text!r} is not a month (2025-12), a quarter (2025-Q4) or a year (2025)"
    )


def latest_complete_period(data_end: pd.Timestamp, kind: Kind = "month") -> ReportPeriod:
    """The latest period of ``kind`` that ends on or before ``data_end``.

    A month is complete when the data run to its last day.
    """
    end = pd.Timestamp(data_end).normalize()
    month = end.to_period("M")
    if end != month.end_time.normalize():
        month -= 1
    if kind == "month":
        return ReportPeriod("month", month, month)
    n = MONTHS_IN_PERIOD[kind]
    # last whole quarter/year ending on or before `month`
    last = month
    while (last.month % n) != 0:
        last -= 1
    return ReportPeriod(kind, last - (n - 1), last)
