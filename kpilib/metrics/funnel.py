"""Funnel, web traffic and sales-rep activity.

Two views of the same leads (both shown in the reports):

- **cohort view**: the leads *created* in the period and how far they had got by the
  period's end (only stage dates on or before it count, so a pack never shows what
  happened later). Conversion rates use it.
- **flow view**: the stage events that *happened* in the period (an MQL date in
  the period counts, whenever the lead was created). Activity volumes use it.

A lead *reached* a stage when the stage's date, or a later stage's date, is set and on or
before the period's end (won: ``outcome = won`` closed by then). Counting later stages too
makes every stage a subset of the one before, so every "from -> to" conversion is at most
100 % even when a date was skipped. Conversions are named "from -> to": lead -> MQL,
MQL -> SQL, SQL -> opportunity, opportunity -> won (:func:`stage_conversions`).

Undefined rates (a zero denominator, an empty period) are NaN, never inf. Every function
works on an empty (header-only) leads table, a period without leads or closed deals, and
a leads table without ``owner``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import KpiError
from ..i18n import N_, _
from ..periods import ReportPeriod
from .revenue import ratio

STAGES: dict[str, str] = {"lead": "created_at", "mql": "mql_at", "sql": "sql_at",
                          "opportunity": "opportunity_at", "won": "closed_at"}
BOUNCE_THRESHOLD = 0.5  # glossary: a bounce rate below 50 % is healthy


def _in(dates: pd.Series, period: ReportPeriod) -> pd.Series:
    return (dates >= period.start_date) & (dates <= period.end_date)


#: How the conversions name the stages ("MQL -> SQL"): English, the index keys of
#: :func:`stage_conversions`; a page shows them through :func:`conversion_names`.
STAGE_LABELS: dict[str, str] = {"lead": N_("lead"), "mql": N_("MQL"), "sql": N_("SQL"),
                                "opportunity": N_("opportunity"), "won": N_("won")}


def _conversion_pairs() -> list[tuple[str, str]]:
    stages = list(STAGES)
    return [*zip(stages[:-1], stages[1:]), ("lead", "won")]


def conversion_names() -> dict[str, str]:
    """The index of :func:`stage_conversions` (``"MQL -> SQL"``, English keys) -> the same step in
    the reader's language, for ``.rename(index=conversion_names())`` where a page shows it."""
    return {f"{STAGE_LABELS[a]} -> {STAGE_LABELS[b]}": f"{_(STAGE_LABELS[a])} -> {_(STAGE_LABELS[b])}"
            for a, b in _conversion_pairs()}


def _dated(leads: pd.DataFrame, stage: str, end: pd.Timestamp | None) -> pd.Series:
    """The stage's own date is set (and on or before ``end``); won also needs ``outcome = won``."""
    dates = leads[STAGES[stage]]
    out = dates.notna() if end is None else dates.notna() & (dates <= end)
    return out & (leads["outcome"] == "won").fillna(False).astype(bool) if stage == "won" else out


def _reached(leads: pd.DataFrame, stage: str, end: pd.Timestamp | None = None) -> pd.Series:
    """Leads that reached ``stage`` or any later stage (by ``end``): a later stage implies this one."""
    out = pd.Series(False, index=leads.index)
    for later in list(STAGES)[list(STAGES).index(stage):]:
        out |= _dated(leads, later, end)
    return out


def _at_stage(leads: pd.DataFrame, period: ReportPeriod, stage: str, view: str) -> pd.Series:
    """The leads a stage of :func:`funnel_counts` counts, as a mask over ``leads``."""
    if view == "cohort":
        return _in(leads["created_at"], period) & _reached(leads, stage, period.end_date)
    if view == "flow":
        inside = _in(leads[STAGES[stage]], period)
        return inside & (leads["outcome"] == "won").fillna(False).astype(bool) if stage == "won" else inside
    raise KpiError("view must be 'cohort' or 'flow'")


def stage_leads(leads: pd.DataFrame, period: ReportPeriod, stage: str, view: str = "cohort") -> pd.DataFrame:
    """The leads behind one stage's count in :func:`funnel_counts` (same rule, same view).

    Returns the leads' rows (every column of the table), oldest first, so a page can list who
    is in a stage; ``len()`` equals the stage's count.
    """
    if stage not in STAGES:
        raise KpiError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    return leads[_at_stage(leads, period, stage, view)].sort_values(["created_at", "lead_id"], kind="stable")


def funnel_counts(leads: pd.DataFrame, period: ReportPeriod, view: str = "cohort") -> pd.DataFrame:
    """Leads at each stage, lead -> MQL -> SQL -> opportunity -> won.

    ``view="cohort"``: leads created in the period that reached each stage by the period's end.
    ``view="flow"``: stage dates falling in the period (won = deals closed won in it).
    Columns ``count, step_conversion`` (from the previous stage) and
    ``from_lead`` (from the lead stage); both conversions are cohort-meaningful only (in the
    flow view they compare different leads and can exceed 100 %: use :func:`stage_conversions`).
    """
    counts = [int(_at_stage(leads, period, s, view).sum()) for s in STAGES]
    out = pd.DataFrame({"count": counts}, index=pd.Index(list(STAGES), name="stage"))
    prev = out["count"].shift(1)
    out["step_conversion"] = [ratio(c, p) if i else float("nan")
                              for i, (c, p) in enumerate(zip(out["count"], prev))]
    out["from_lead"] = [ratio(c, counts[0]) for c in counts]
    return out


def stage_conversions(leads: pd.DataFrame, period: ReportPeriod, view: str = "cohort") -> pd.DataFrame:
    """Conversion between consecutive stages, named "from -> to", and lead -> won overall.

    ``view="cohort"``: of the leads *created* in the period, ``from_count`` reached the from-stage
    and ``to_count`` the to-stage by the period's end; conversion = to / from.
    ``view="flow"``: of the leads that *entered* the from-stage in the period (its date in the
    period; for lead, created in it), ``to_count`` reached the to-stage by the period's end.
    Both compare one set of leads with a subset of it, so 0 <= conversion <= 1; NaN when no
    lead reached the from-stage. Returns ``from_count, to_count, conversion`` indexed by
    ``conversion`` ("lead -> MQL", "MQL -> SQL", "SQL -> opportunity", "opportunity -> won",
    "lead -> won"; English keys: show them renamed with :func:`conversion_names`).
    """
    if view not in ("cohort", "flow"):
        raise KpiError("view must be 'cohort' or 'flow'")
    end = period.end_date
    created = leads[_in(leads["created_at"], period)]
    rows = {}
    for a, b in _conversion_pairs():
        pool = created[_reached(created, a, end)] if view == "cohort" else leads[_in(leads[STAGES[a]], period)]
        n_from, n_to = len(pool), int(_reached(pool, b, end).sum())
        rows[f"{STAGE_LABELS[a]} -> {STAGE_LABELS[b]}"] = (n_from, n_to, ratio(n_to, n_from))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["from_count", "to_count", "conversion"]) \
        .rename_axis("conversion")


def win_rate(leads: pd.DataFrame, period: ReportPeriod) -> float:
    """Won / (won + lost) for deals *closed* in the period (the sales-to-close ratio).

    Rows closed without a won or lost outcome are not deals decided; NaN with no deal closed.
    """
    outcome = leads.loc[_in(leads["closed_at"], period), "outcome"]
    won, lost = int((outcome == "won").sum()), int((outcome == "lost").sum())
    return ratio(won, won + lost)


def sales_cycle(leads: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Days from lead creation to close for deals won in the period: median, mean, p75, n."""
    days = cycle_days(leads, period).astype("float64")
    if days.empty:
        return pd.Series({"median": np.nan, "mean": np.nan, "p75": np.nan, "n": 0.0})
    return pd.Series({"median": days.median(), "mean": days.mean(), "p75": days.quantile(0.75),
                      "n": float(len(days))})


def cycle_days(leads: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Per-deal sales-cycle days of the deals won in the period (for a distribution chart)."""
    won = leads[_in(leads["closed_at"], period) & (leads["outcome"] == "won")]
    return (won["closed_at"] - won["created_at"]).dt.days.rename("days").reset_index(drop=True)


def stage_durations(leads: pd.DataFrame, period: ReportPeriod) -> pd.DataFrame:
    """Median and mean days spent in each stage by leads created in the period
    (from reaching a stage to reaching the next; leads that never moved on are left out)."""
    pool = leads[_in(leads["created_at"], period)]
    end, rows = period.end_date, {}
    for (a, ca), (b, cb) in zip(list(STAGES.items())[:-1], list(STAGES.items())[1:]):
        moved = _dated(pool, a, end) & _dated(pool, b, end)
        days = (pool.loc[moved, cb] - pool.loc[moved, ca]).dt.days.astype("float64")
        rows[f"{a} -> {b}"] = {"median_days": days.median() if len(days) else np.nan,
                               "mean_days": days.mean() if len(days) else np.nan, "leads": float(len(days))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("stage")


def trial_metrics(leads: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Trials started in the period; activation rate = activated / trials; trial -> paid =
    won / trials, both among those trials (cohort view)."""
    trials = leads[_in(leads["trial_started_at"], period)]
    n, end = len(trials), period.end_date
    return pd.Series({"trials": float(n),
                      "activation_rate": ratio((trials["activated_at"] <= end).sum(), n),
                      "trial_to_paid": ratio(_dated(trials, "won", end).sum(), n)})


def web_summary(web: pd.DataFrame, period: ReportPeriod, by_channel: bool = False) -> pd.DataFrame:
    """Sessions, unique and new visitors, bounced sessions and bounce rate in the period.

    Unique visitors are summed over days, so a person visiting on two days counts twice.
    """
    rows = web[_in(web["date"], period)]
    cols = ["sessions", "unique_visitors", "new_visitors", "bounced_sessions"]
    grouped = rows.groupby("channel")[cols].sum() if by_channel else rows[cols].sum().to_frame("total").T
    grouped = grouped.astype("float64")
    grouped["bounce_rate"] = [ratio(b, s) for b, s in zip(grouped["bounced_sessions"], grouped["sessions"])]
    return grouped


def channel_funnel(leads: pd.DataFrame, web: pd.DataFrame | None, period: ReportPeriod) -> pd.DataFrame:
    """Per channel: cohort stage counts, lead -> customer, win rate, visitor -> lead, bounce rate.

    Channels with leads created or deals closed in the period (and, with ``web``, traffic).
    """
    pool = leads[_in(leads["created_at"], period)]
    reached = pd.DataFrame({s: _reached(pool, s, period.end_date) for s in STAGES}, index=pool.index)
    counts = reached.groupby(pool["channel"]).sum()
    outcome = leads.loc[_in(leads["closed_at"], period), ["channel", "outcome"]]
    decided = pd.crosstab(outcome["channel"], outcome["outcome"]).reindex(columns=["won", "lost"], fill_value=0)
    out = counts.reindex(counts.index.union(decided.index), fill_value=0).astype("int64")
    decided = decided.reindex(out.index, fill_value=0)
    out["lead_to_customer"] = [ratio(w, n) for w, n in zip(out["won"], out["lead"])]
    out["win_rate"] = [ratio(w, w + lo) for w, lo in zip(decided["won"], decided["lost"])]
    if web is not None:
        w = web_summary(web, period, by_channel=True)
        out = out.join(w[["unique_visitors", "bounce_rate"]], how="outer")
        out["visitor_to_lead"] = [ratio(n, v) for n, v in zip(out["lead"].fillna(0), out["unique_visitors"])]
    return out.rename_axis("channel")


def rep_leaderboard(leads: pd.DataFrame, activities: pd.DataFrame | None, period: ReportPeriod) -> pd.DataFrame:
    """Per sales rep: calls per working day (days with an activity row), demos booked and held,
    leads assigned (created in the period), deals won among them, demo conversion = demos held /
    demos booked (both from sales_activities, so it compares like with like; it exceeds 100 % only
    when demos booked before the period are held in it), deal conversion = won / leads assigned (the
    same leads). Sorted by deals won."""
    pool = leads[_in(leads["created_at"], period)]
    owner = pool["owner"] if "owner" in pool else pd.Series(np.nan, index=pool.index, dtype=object)
    assigned = pool.groupby(owner).size().rename("leads").astype("float64")
    won = _dated(pool, "won", period.end_date).groupby(owner).sum().rename("won").astype("float64")
    out = pd.concat([assigned, won], axis=1).fillna(0.0)
    if activities is not None:
        act = activities[_in(activities["date"], period)].groupby("owner").agg(
            days=("date", "nunique"), calls=("calls", "sum"), demos_booked=("demos_booked", "sum"),
            demos_held=("demos_held", "sum")).astype("float64")
        out = out.join(act, how="outer").fillna({"leads": 0.0, "won": 0.0})
        out["calls_per_day"] = [ratio(c, d) for c, d in zip(out["calls"], out["days"])]
        out["demo_conversion"] = [ratio(h, b) for h, b in zip(out["demos_held"], out["demos_booked"])]
    out["deal_conversion"] = [ratio(w, n) for w, n in zip(out["won"], out["leads"])]
    return out.sort_values(["won", "leads"], ascending=False).rename_axis("owner")


def funnel_trend(leads: pd.DataFrame, web: pd.DataFrame | None, months: pd.PeriodIndex) -> pd.DataFrame:
    """Win rate, lead -> customer (cohort), visitor -> lead and bounce rate per month."""
    rows = {}
    for m in months:
        p = ReportPeriod("month", m, m)
        f = funnel_counts(leads, p)
        row = {"leads": float(f.loc["lead", "count"]), "win_rate": win_rate(leads, p),
               "lead_to_customer": f.loc["won", "from_lead"]}
        if web is not None:
            w = web_summary(web, p).iloc[0]
            row.update(visitor_to_lead=ratio(f.loc["lead", "count"], w["unique_visitors"]),
                       bounce_rate=w["bounce_rate"])
        rows[m] = row
    return pd.DataFrame(rows).T.rename_axis("month")


def funnel_rates(leads: pd.DataFrame, web: pd.DataFrame | None, activities: pd.DataFrame | None,
                 period: ReportPeriod) -> pd.Series:
    """The funnel page's conversion and activity figures for one period.

    ``visitor_to_lead`` = leads created / unique visitors (NaN without web traffic);
    ``lead_to_sql``, ``lead_to_customer``: of the leads created in the period, the share that
    reached SQL / won by its end (cohort view); ``win_rate`` (:func:`win_rate`); ``trials``,
    ``activation_rate``, ``trial_to_paid`` (:func:`trial_metrics`); ``demos_booked`` and
    ``demo_conversion`` = demos held / demos booked, both from ``sales_activities`` in the period
    (like with like; NaN without the table); ``asp_won`` = mean ``amount`` of the deals closed won in
    the period (the deal's ACV).
    """
    cohort = funnel_counts(leads, period, "cohort")
    trials = trial_metrics(leads, period)
    visitors = web_summary(web, period).iloc[0]["unique_visitors"] if web is not None else float("nan")
    if activities is not None:
        inside = _in(activities["date"], period)
        booked = float(activities.loc[inside, "demos_booked"].sum())
        held = float(activities.loc[inside, "demos_held"].sum())
    else:
        booked = held = float("nan")
    won = leads[_in(leads["closed_at"], period) & (leads["outcome"] == "won")]
    return pd.Series({
        "visitor_to_lead": ratio(cohort.loc["lead", "count"], visitors),
        "lead_to_sql": cohort.loc["sql", "from_lead"], "lead_to_customer": cohort.loc["won", "from_lead"],
        "win_rate": win_rate(leads, period), "trials": trials["trials"],
        "activation_rate": trials["activation_rate"], "trial_to_paid": trials["trial_to_paid"],
        "demos_booked": booked, "demo_conversion": ratio(held, booked),
        "asp_won": float(won["amount"].mean()) if len(won) else float("nan"),
    }, dtype="float64")
