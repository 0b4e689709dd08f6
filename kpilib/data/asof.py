"""The dataset as it was known at the end of a period: the kit's *as-of* rule.

A pack for period P uses only what was known at P's end. Rows dated after P's end
do not exist for it, and dates after P's end (a cancellation, a lead closing) were
still empty. Equivalently: cutting every table at P's end gives the same pack.

:func:`as_of` is the one place that rule is applied; :class:`~kpilib.KpiModel` calls
it, so every figure of a pack (and every "previous period" figure beside it) is built
from the tables as they stood at the end of its own period.

Per table (:data:`CUTS`):

- the **row date** says when a row came into existence; rows whose row date is after
  the cut are dropped (for monthly tables: months after the cut's month);
- **state dates** record later events on a kept row; a state date after the cut is
  emptied, together with the columns that only make sense once it happened
  (a lead's ``outcome`` and ``customer_id`` with ``closed_at``).

Customers created after the cut are dropped, and so are the rows of other tables that
belong to them, so the cut dataset satisfies the data contract's foreign keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from .dataset import Dataset, is_member


@dataclass(frozen=True)
class Cut:
    """How one contract table is cut at a date."""

    row_date: str | None  # date or month column (absent from a table: the table is timeless)
    state_dates: tuple[str, ...] = ()
    cleared_with: tuple[tuple[str, tuple[str, ...]], ...] = ()  # state date -> columns emptied with it


CUTS: dict[str, Cut] = {
    "customers": Cut("created_at"),
    "subscriptions": Cut("start_date", ("end_date",)),
    "fx_rates": Cut("month"),  # constant rates (no month column) are timeless
    "leads": Cut("created_at",
                 ("mql_at", "sql_at", "opportunity_at", "trial_started_at", "activated_at", "closed_at"),
                 (("closed_at", ("outcome", "customer_id")),)),
    "web_traffic": Cut("date"),
    "marketing_spend": Cut("month"),
    "sales_activities": Cut("date"),
    "survey_responses": Cut("responded_at"),
    "product_usage": Cut("month"),
    "financials": Cut("month"),
}


def _after(column: pd.Series, end: pd.Timestamp) -> pd.Series:
    """Rows whose date (or month) lies after ``end``; missing values never do."""
    if isinstance(column.dtype, pd.PeriodDtype):
        return (column > end.to_period("M")).fillna(False).astype(bool)
    return (column > end).fillna(False).astype(bool)


def cut_table(name: str, table: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One table as known at the end of day ``end`` (see the module notes)."""
    rule = CUTS[name]
    out = table
    if rule.row_date is not None and rule.row_date in out.columns:
        later_rows = _after(out[rule.row_date], end)
        if later_rows.any():  # else the table itself: no copy of what the cut keeps whole
            out = out[~later_rows]
    cleared = dict(rule.cleared_with)
    changed = False
    for column in rule.state_dates:
        if column not in out.columns:
            continue
        later = _after(out[column], end)
        if not later.any():
            continue
        if not changed:
            out, changed = out.copy(), True
        for target in (column, *cleared.get(column, ())):
            if target in out.columns:
                out.loc[later, target] = None
    return out


def as_of(dataset: Dataset, end: pd.Timestamp | str) -> Dataset:
    """The dataset as it was known at the end of day ``end``.

    Parameters
    ----------
    dataset
        A validated dataset.
    end
        The last day known (a period's ``end_date``).

    Returns
    -------
    Dataset
        The same source and base currency with every table cut at ``end``. Tables keep
        their columns and dtypes, even when no row is left. The customers are cut at once;
        every other table when it is first read (:class:`CutTables`). The usage's sums per
        account-month (``usage_sums``) are cut as the usage would be.
    """
    end = pd.Timestamp(end).normalize()
    customers = cut_table("customers", dataset.customers, end)
    dropped = _dropped(dataset.customers, customers)
    sums = dataset.usage_sums
    if sums is not None:
        sums = sums[(sums["month"] <= end.to_period("M")) & ~is_member(sums["customer_id"], dropped)]
    return replace(dataset, tables=CutTables(dataset.tables, end, dropped, {"customers": customers}),
                   usage_sums=sums)


def _dropped(customers: pd.DataFrame, known: pd.DataFrame) -> frozenset:
    """The ids of the customers the cut left out (``known``: ``customers`` cut, its rows a subset with
    their labels). Taken from the rows left out, not as the difference of two sets of every id: at
    200,000 customers that took about 0.5 s a model, and a pack builds three."""
    if len(known) == len(customers):
        return frozenset()
    if customers.index.is_unique:
        return frozenset(customers["customer_id"].drop(known.index))
    return frozenset(customers["customer_id"]) - frozenset(known["customer_id"])


class CutTables(Mapping):
    """A dataset's tables as known at the end of day ``end``, each cut when it is first read.

    A model of an earlier period (the previous month beside the headline, a year ago) reads only
    the tables its figures use: the others are never cut, copied or held. It reads like the dict
    it stands for (iterating over the values cuts every table); pickled, it becomes that dict.

    ``dropped``: the customers created after ``end``, whose rows every other table leaves out;
    ``cut``: tables already cut (a run's snapshot hands back those its models read).
    """

    def __init__(self, source: Mapping[str, pd.DataFrame], end: pd.Timestamp, dropped: frozenset,
                 cut: Mapping[str, pd.DataFrame] | None = None) -> None:
        self.source, self.end, self.dropped = source, end, dropped
        self.given: Mapping[str, pd.DataFrame] = cut or {}
        self.cut: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self.given:
            return self.given[name]
        if name not in self.cut:
            self.cut[name] = _known_rows(name, self.source[name], self.end, self.dropped)
        return self.cut[name]

    def __contains__(self, name: object) -> bool:
        return name in self.source

    def __iter__(self) -> Iterator[str]:
        return iter(self.source)

    def __len__(self) -> int:
        return len(self.source)

    def read(self) -> dict[str, pd.DataFrame]:
        """The tables cut so far, by name (none is cut here)."""
        return {**self.given, **self.cut}

    def __reduce__(self):
        return (dict, (dict(self.items()),))


def cut_so_far(tables: Mapping[str, pd.DataFrame]) -> Mapping[str, pd.DataFrame]:
    """The tables of a dataset that are already in hand: of a :class:`CutTables`, those cut so far;
    of any other mapping, all of them. Nothing is cut here."""
    return tables.read() if isinstance(tables, CutTables) else tables


def _known_rows(name: str, table: pd.DataFrame, end: pd.Timestamp, dropped: frozenset) -> pd.DataFrame:
    """One table other than customers cut at ``end``, without the rows of the ``dropped`` customers,
    so that the cut dataset satisfies the data contract's foreign keys."""
    out = cut_table(name, table, end)
    if dropped and "customer_id" in out.columns:
        orphan = is_member(out["customer_id"], dropped)
        if orphan.any():
            if name == "leads":  # the lead existed; the account it became did not yet
                out = out.copy()
                out.loc[orphan, "customer_id"] = None
            else:
                out = out[~orphan]
    if dropped and name == "survey_responses":  # nps/ces respondents are customers
        gone = (out["survey"] != "enps") & is_member(out["respondent_id"], dropped)
        if gone.any():
            out = out[~gone]
    return out


def subscription_data_end(dataset: Dataset) -> pd.Timestamp:
    """Where the billing data end: the last day of the month of the latest subscription start,
    leaving out starts in a month after the last date of every other table.

    A subscription start alone cannot move the end of the data. One in a month later than anything
    else the data record (customers created, leads, surveys, traffic, monthly tables) is an outlier:
    a typo such as 2030, a test account, a contract booked to start next quarter. It is left out
    here and reported by :func:`default_period`, not followed. When no start is that early (the
    other tables all end before the first start), every start counts. The rule reads the data only,
    never today's date, so the same data always give the same period.
    """
    starts = dataset.subscriptions["start_date"]
    others = {name: df for name, df in dataset.tables.items() if name != "subscriptions"}
    try:
        last_other = replace(dataset, tables=others).data_end.to_period("M")
    except ValueError:  # no other table holds a date
        last_other = None
    kept = starts if last_other is None else starts[starts.dt.to_period("M") <= last_other]
    latest = pd.Timestamp((kept if kept.notna().any() else starts).max())
    return latest.to_period("M").end_time.normalize()


def default_period(dataset: Dataset):
    """The period a report is for when none is asked: the latest complete month of the data, never
    later than the month where the billing data end (:func:`subscription_data_end`: the latest
    subscription start, outliers left out).

    Returns
    -------
    (ReportPeriod, list[str])
        The period, and one warning per table holding rows dated after its end (a stray
        future date must not move the report into a month with no billing data).
    """
    from ..periods import latest_complete_period

    end = min(dataset.data_end, subscription_data_end(dataset))
    period = latest_complete_period(end)
    late: dict[str, tuple[int, object]] = {}  # table -> (rows dated after the period, the latest date)
    for name, df in dataset.tables.items():
        rule = CUTS[name]
        if rule.row_date is None or rule.row_date not in df.columns or df.empty:
            continue
        later = _after(df[rule.row_date], period.end_date)
        if later.any():
            late[name] = (int(later.sum()), df.loc[later, rule.row_date].max())
    sums = dataset.usage_sums  # the usage summed where it is stored: its rows counted per account-month
    if sums is not None and "product_usage" not in dataset.tables and not sums.empty:
        later = (sums["month"] > period.last).to_numpy()
        if later.any():
            late["product_usage"] = (int(sums["rows"][later].sum()), sums["month"][later].max())
    return period, [f"table '{name}' has {count:,} row(s) dated after {period.end_date.date()} (latest {latest}); "
                    f"they are not in the {period.label} pack" for name, (count, latest) in late.items()]
