"""Customer and employee voice (NPS, eNPS, CES) and the product engagement score.

NPS: promoters score 9-10, passives 7-8, detractors 0-6; NPS = % promoters -
% detractors, in points from -100 to 100 (Reichheld 2003, "The One Number You Need
to Grow", Harvard Business Review). Its 95 % margin of error comes from the variance
of the difference of the two shares: [p + d - (p - d)^2] / n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import ReportPeriod

ENGAGEMENT_WEIGHTS: dict[str, float] = {"login": 1.0, "dashboard_viewed": 1.0, "report_created": 3.0,
                                        "user_invited": 5.0, "api_call": 0.01}
BANDS = (("low", 0, 33.3), ("medium", 33.3, 66.7), ("high", 66.7, 100.01))
ENGAGEMENT_HORIZON = 3  # months after an account-month in which churn counts against its engagement band


def nps_summary(scores) -> pd.Series:
    """NPS of 0-10 scores: ``nps, promoters, passives, detractors, n, margin_of_error``.

    Counts for the three groups; nps and its 95 % margin of error in points.
    With no answers nps and margin are NaN (undefined); all promoters gives margin 0.
    """
    s = pd.Series(scores, dtype="float64").dropna()
    n = len(s)
    promoters, detractors = int((s >= 9).sum()), int((s <= 6).sum())
    passives = n - promoters - detractors
    if n == 0:
        nps = moe = float("nan")
    else:
        p, d = promoters / n, detractors / n
        nps = 100 * (p - d)
        moe = 100 * 1.96 * np.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return pd.Series({"nps": nps, "promoters": promoters, "passives": passives, "detractors": detractors,
                      "n": n, "margin_of_error": moe}, dtype="float64")


def _survey(responses: pd.DataFrame, survey: str, period: ReportPeriod | None = None) -> pd.DataFrame:
    rows = responses[responses["survey"] == survey]
    if period is not None:
        rows = rows[(rows["responded_at"] >= period.start_date) & (rows["responded_at"] <= period.end_date)]
    return rows


def nps_group(scores: pd.Series) -> pd.Series:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6) per score, as :func:`nps_summary`
    counts them."""
    s = scores.astype("float64")
    return pd.Series(np.select([s >= 9, s <= 6], ["promoter", "detractor"], default="passive"),
                     index=scores.index, name="group")


def nps_answers(responses: pd.DataFrame, period: ReportPeriod) -> pd.DataFrame:
    """The NPS answers of ``period`` (a wave), each with its group: who is behind each count of
    :func:`period_nps`. Columns: those of the table plus ``group``; lowest score first."""
    rows = _survey(responses, "nps", period)
    return (rows.assign(group=nps_group(rows["score"]))
            .sort_values(["score", "responded_at", "response_id"], kind="stable"))


def nps_trend(responses: pd.DataFrame, survey: str = "nps", freq: str = "Q") -> pd.DataFrame:
    """NPS (or eNPS with ``survey="enps"``) per quarter (``freq="Q"``) or month."""
    rows = _survey(responses, survey)
    key = rows["responded_at"].dt.to_period(freq).rename("period")
    return rows.groupby(key)["score"].apply(nps_summary).unstack()


def nps_by(responses: pd.DataFrame, customers: pd.DataFrame, period: ReportPeriod,
           by: str = "segment") -> pd.DataFrame:
    """NPS per customer group (respondent_id = customer_id) for answers in the period."""
    rows = _survey(responses, "nps", period)
    group = rows["respondent_id"].map(customers.set_index("customer_id")[by]).rename(by)
    return rows.groupby(group)["score"].apply(nps_summary).unstack()


def period_nps(responses: pd.DataFrame, period: ReportPeriod, survey: str = "nps") -> pd.Series:
    return nps_summary(_survey(responses, survey, period)["score"])


def survey_wave(responses: pd.DataFrame | None, period: ReportPeriod, survey: str = "nps", *,
                before: ReportPeriod | None = None) -> ReportPeriod | None:
    """The survey wave a pack for ``period`` reports: the latest one closed by the period's end.

    Surveys run in quarterly waves: a wave is the calendar quarter of its answers, and it
    has closed once its quarter has ended. A month or quarter pack reports the latest wave
    whose quarter ended on or before the period's end (so a November pack shows the Q3 wave,
    never December answers); a year pack reports all answers of the year.

    Parameters
    ----------
    before
        Return the latest wave strictly before this one instead (the comparison wave).

    Returns
    -------
    ReportPeriod or None
        The wave's quarter (or the year), or ``None`` when no closed wave has answers.
    """
    if responses is None:
        return None
    dates = responses.loc[responses["survey"] == survey, "responded_at"]
    if period.kind == "year" and before is None:
        inside = dates.between(period.start_date, period.end_date)
        return period if inside.any() else None
    if before is not None and before.kind == "year":
        previous = before.previous()
        inside = dates.between(previous.start_date, previous.end_date)
        return previous if inside.any() else None
    limit = period.end_date if before is None else before.start_date - pd.Timedelta(days=1)
    quarters = pd.PeriodIndex(dates[dates <= limit].dt.to_period("Q").unique(), freq="Q")
    closed = [q for q in quarters if q.end_time.normalize() <= limit]
    if not closed:
        return None
    q = max(closed)
    first = pd.Period(q.start_time, freq="M")
    return ReportPeriod("quarter", first, first + 2)


def ces_summary(responses: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Customer effort score (1-7, 7 = very easy): mean, n and the count of each score."""
    s = _survey(responses, "ces", period)["score"].astype("float64")
    dist = s.value_counts().reindex(range(1, 8), fill_value=0)
    return pd.concat([pd.Series({"mean": s.mean() if len(s) else np.nan, "n": float(len(s))}),
                      dist.rename(lambda k: f"score_{k}").astype("float64")])


def notable_comments(responses: pd.DataFrame, period: ReportPeriod, n: int = 5) -> pd.DataFrame:
    """The most recent commented answers of promoters (9-10) and detractors (0-6) in the period.

    Text is returned raw: display it only through escaping helpers (``show_table``).
    """
    rows = _survey(responses, "nps", period)
    rows = rows[rows["comment"].notna() & (rows["comment"].str.strip() != "")]
    rows = rows.sort_values(["responded_at", "response_id"], ascending=[False, True])
    pick = pd.concat([rows[rows["score"] >= 9].head(n).assign(group="promoter"),
                      rows[rows["score"] <= 6].head(n).assign(group="detractor")])
    return pick[["group", "score", "responded_at", "comment"]].reset_index(drop=True)


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (int32) of ``values`` in the sorted order of their distinct values (-1: missing),
    and the values the codes stand for. Months are coded by their distance from the first month (a
    month between them that never occurs has a code and no row); other values by a hash and a sort
    of the distinct values only, not of every row."""
    if isinstance(values.dtype, pd.PeriodDtype) and values.notna().any():
        ordinal = values.array.asi8
        missing = values.isna().to_numpy()
        first, last = ordinal[~missing].min(), ordinal[~missing].max()
        codes = (ordinal - first).astype(np.int32)
        codes[missing] = -1
        return codes, pd.period_range(pd.Period(ordinal=first, freq=values.dtype.freq), periods=last - first + 1)
    found, uniques = pd.factorize(values)
    order = uniques.argsort()
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order], rank[-1] = np.arange(len(order)), -1  # code -1 (missing) stays -1
    return rank[found], uniques.take(order)


def engagement_scores(usage: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Engagement score per account and month, 0-100.

    raw = log(1 + sum over events of weight x count); score = the percentile rank of that sum
    among the accounts active in the same month x 100 (ties share the average rank).
    Events without a weight count 0. Deterministic: no sampling, and the order of the rows
    does not matter (each event's counts are summed first, exactly, then weighted in the
    order of the events' names).

    The rows are grouped by integer codes (one code per account and month, one per event),
    never by their strings row by row: 11 million usage rows score in a few seconds.
    """
    weights = ENGAGEMENT_WEIGHTS if weights is None else weights
    account, accounts = _sorted_codes(usage["customer_id"])
    month, months = _sorted_codes(usage["month"])
    span = max(len(months), 1)
    wide = np.int64 if len(accounts) * span >= 2**31 else np.int32
    key = account.astype(wide) * span + month  # (account, month) in sorted order: the order of a sort by both
    keep = (account >= 0) & (month >= 0)  # a row without an account or a month belongs to no group
    del account, month
    partial = not keep.all()
    if partial:
        key = key[keep]
    if len(accounts) * span <= 4 * len(key) + 1_000_000:  # a dense count per possible key is cheap
        seen = np.bincount(key, minlength=len(accounts) * span) > 0
        keys = np.flatnonzero(seen)
        group = np.cumsum(seen, dtype=wide)
        del seen
        group = group[key] - 1
    else:
        group, keys = pd.factorize(key, sort=True)
    del key
    # each weighted event's counts summed per group (whole numbers: exact), then weighted once per
    # group, so the score does not depend on the order of the rows; a missing count adds nothing, and
    # neither does a row without an event or of an event without a weight (one event at a time: no
    # grid of every group by every event, whose making took 0.5 GB more at 11M rows)
    event, events = pd.factorize(usage["event"])
    event = event.astype(np.int16 if len(events) < 2**15 else np.int64)
    counts = usage["count"].to_numpy(dtype="float64", na_value=0.0)
    if partial:
        event, counts = event[keep], counts[keep]
    raw = np.zeros(len(keys))
    for j in sorted(range(len(events)), key=lambda j: events[j]):  # a fixed order: by the event's name
        if weights.get(events[j], 0.0):
            rows = event == j
            raw += float(weights[events[j]]) * np.bincount(group[rows], weights=counts[rows], minlength=len(keys))
    del group, event, counts
    return scores_from_sums(accounts.take(keys // span), months.take(keys % span), raw, keys % span)


def scores_of_usage_sums(sums: pd.DataFrame) -> pd.DataFrame:
    """:func:`scores_from_sums` of a ``customer_id, month, x`` frame of weighted sums per account-month
    (:func:`kpilib.engine.engine_usage_sums`, ``Dataset.usage_sums``), its columns passed as they are
    (the ids not turned into Python objects: 3.2M of them at 100 copies of the sample)."""
    return scores_from_sums(sums["customer_id"].array, sums["month"].array, sums["x"].to_numpy())


def scores_from_sums(accounts, months, sums: np.ndarray, month_codes: np.ndarray | None = None) -> pd.DataFrame:
    """Step two of :func:`engagement_scores`: from each account-month's weighted sum (``sums``, rows in
    (account, month) order) to ``customer_id, month, raw, score, band``. ``month_codes``: the months
    as integers, when the caller has them. :func:`kpilib.engine.engagement.engine_usage_sums` computes
    the same sums inside a database, to the bit, and hands them here."""
    frame = pd.DataFrame({"customer_id": accounts, "month": months, "raw": np.log1p(sums)})
    if month_codes is None:
        month_codes = pd.factorize(frame["month"])[0]
    # ranked on the weighted sum itself, which log1p does not reorder: two sums a rounding apart can share
    # one logarithm
    frame["score"] = pd.Series(sums).groupby(month_codes).rank(pct=True).to_numpy() * 100
    frame["band"] = pd.cut(frame["score"], [b[1] for b in BANDS] + [BANDS[-1][2]],
                           labels=[b[0] for b in BANDS], right=False)
    return frame


def churn_by_engagement(scores: pd.DataFrame, wide: pd.DataFrame, horizon: int = 3) -> pd.DataFrame:
    """Churn rate in the following ``horizon`` months by engagement band.

    For each account paying at a month end with a score, churned = its MRR is 0 at
    some month end within the next ``horizon`` months. Only months with the full
    horizon observed count.
    """
    paying = wide.to_numpy() > 0
    r = wide.index.get_indexer(scores["customer_id"])
    c = wide.columns.get_indexer(scores["month"])
    full = (r >= 0) & (c >= 0) & (c + horizon < len(wide.columns))
    band = scores["band"].cat.codes.to_numpy()[full]  # -1: a score outside every band
    r, c = r[full], c[full]
    now = paying[r, c]
    stayed = np.ones(len(r), dtype=bool)
    for k in range(1, horizon + 1):
        stayed &= paying[r, c + k]
    # counted on the bands' codes, not on copies of the scores' frame (7 million account-months at
    # 100 copies of the sample, each copy about 0.3 GB)
    counted = now & (band >= 0)
    kind = scores["band"].dtype
    size = np.bincount(band[counted], minlength=len(kind.categories))
    churned = np.bincount(band[counted & ~stayed], minlength=len(kind.categories))
    out = pd.DataFrame({"account_months": size.astype("int64"), "churned": churned.astype("int64")},
                       index=pd.CategoricalIndex(kind.categories, dtype=kind, name="band"))
    out["churn_rate"] = out["churned"] / out["account_months"].replace(0, np.nan)
    return out
