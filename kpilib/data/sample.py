"""A deterministic, realistic sample B2B SaaS company (``kpi sample-data``).

36 months (2023-01 to 2025-12) of a company with about 2,000 accounts in three
segments on four plans, billed monthly, quarterly and annually in USD, EUR and
GBP; upgrades, downgrades, add-ons, churn and reactivations at segment-specific
rates; leads moving through the funnel; daily web traffic; spend; rep activity;
quarterly NPS and eNPS surveys, CES; product usage that declines before churn;
monthly financials. Only ``numpy.random.default_rng(seed)`` drives it, so the
same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .contract import MONTHS_PER_INTERVAL

DEFAULT_SEED = 7
START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2025-12-31")
HISTORY_START = pd.Timestamp("2021-01-01")

CHANNELS = ["Organic Search", "Paid Search", "Paid Social", "Content", "Referral", "Partners",
            "Events", "Outbound"]
CHANNEL_WEIGHTS = np.array([0.22, 0.18, 0.12, 0.12, 0.10, 0.08, 0.08, 0.10])
BOUNCE = np.array([0.38, 0.47, 0.58, 0.33, 0.30, 0.36, 0.41, 0.52])
REPS = ["Ana Souza", "Ben Carter", "Chloé Martin", "Dev Patel", "Eva Novak", "Finn O'Brien",
        "Grace Kim", "Hugo Müller"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    plans: tuple[str, str]
    churn: float  # monthly logo hazard
    intervals: tuple[float, float, float]  # month, quarter, year
    cycle_days: int


SEGMENTS = (
    Segment("SMB", 0.60, ("Starter", "Growth"), 0.032, (0.78, 0.10, 0.12), 21),
    Segment("Mid-Market", 0.30, ("Growth", "Pro"), 0.014, (0.45, 0.20, 0.35), 45),
    Segment("Enterprise", 0.10, ("Pro", "Enterprise"), 0.006, (0.10, 0.10, 0.80), 90),
)
PLAN_PRICE = {"Starter": 79.0, "Growth": 450.0, "Pro": 1600.0, "Enterprise": 6500.0}  # USD / month
PLANS = list(PLAN_PRICE)
FX = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}
EVENTS = {"login": 30.0, "dashboard_viewed": 18.0, "report_created": 5.0, "user_invited": 0.6}

NAME_A = ["Acme", "Blue", "Nova", "Bright", "Vertex", "Summit", "Atlas", "Pioneer", "Quantum", "Lumen",
          "Harbor", "Cedar", "Falcon", "Orbit", "Evergreen", "Northwind", "Granite", "Silver", "Apex",
          "Maple", "Zenith", "Crescent", "Iron", "Coral", "Juniper"]
NAME_B = ["Labs", "Systems", "Analytics", "Logistics", "Health", "Retail", "Foods", "Works",
          "Partners", "Software", "Capital", "Dynamics", "Media", "Networks", "Studio", "Energy"]
NAME_C = ["Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Co.", "Group", "AG", "Pty Ltd", "BV"]
SPECIAL_NAMES = ["Müller & Söhne GmbH", "Café Ñandú S.A.", 'Smith & "Sons" <Ltd>', "Łódź Tech Sp. z o.o.",
                 "Østergaard ApS", "株式会社サクラ", "Ça Va Bien SARL", "O'Neil & Partners <EU>"]
PROMOTER = ["Love the dashboards, saves us hours every week.", "Très bien, merci !",
            "Great support team & fast answers.", "Großartig – the API is a joy.", "使いやすい",
            "Export to \"CSV\" is finally fast.", "Our board loves the <ARR> view."]
PASSIVE = ["Does the job.", "Good, but pricing is confusing.", "OK – onboarding took a while.",
           "Reports are fine; alerts could be better."]
DETRACTOR = ["Export to \"CSV\" is <broken> & slow", "Too expensive for what we use.",
             "Support took 5 days to answer.", "Sync fails with > 10k rows.", "Difícil de configurar.",
             "We miss SSO & audit logs."]
CES_COMMENTS = ["Setup was quick.", "Had to ask support twice.", "Import wizard is confusing.", ""]
ENPS_COMMENTS = ["Great team.", "Too many meetings.", "Ça manque de clarté sur la roadmap.",
                 "Love the <remote> policy & people.", ""]


def _month_end(ts: pd.Timestamp) -> pd.Timestamp:
    return (ts + pd.offsets.MonthEnd(0)).normalize()


def _name(rng: np.random.Generator, i: int) -> str:
    if i % 97 == 13:
        return SPECIAL_NAMES[(i // 97) % len(SPECIAL_NAMES)]
    return f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(NAME_C)}"


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    """Accounts: ~150 paying before 2023, then a growing stream of new ones."""
    starts: list[pd.Timestamp] = []
    for m in pd.period_range("2021-01", "2022-12", freq="M"):
        starts += [m.start_time + pd.Timedelta(days=int(d)) for d in rng.integers(0, 28, rng.poisson(16))]
    for k, m in enumerate(pd.period_range("2023-01", "2025-12", freq="M")):
        n = rng.poisson(36 + 0.6 * k)
        starts += [m.start_time + pd.Timedelta(days=int(d)) for d in rng.integers(0, 28, n)]
    n = len(starts)
    seg_idx = rng.choice(len(SEGMENTS), size=n, p=[s.share for s in SEGMENTS])
    region = rng.choice(REGIONS, size=n, p=[0.45, 0.35, 0.14, 0.06])
    channel = rng.choice(CHANNELS, size=n, p=CHANNEL_WEIGHTS)
    ids = [f"C{i + 1:05d}" for i in range(n)]
    first_start = pd.to_datetime(pd.Series(starts)).sort_values().reset_index(drop=True)
    created = first_start - pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    return pd.DataFrame({
        "customer_id": ids, "name": [_name(rng, i) for i in range(n)],
        "segment": [SEGMENTS[s].name for s in seg_idx], "region": region,
        "acquisition_channel": channel, "created_at": created, "first_start": first_start,
        "seg_idx": seg_idx,
    })


def _currency(rng: np.random.Generator, region: str) -> str:
    if region == "EMEA":
        return str(rng.choice(["EUR", "GBP"], p=[0.6, 0.4]))
    return "USD"


def _lifecycle(rng, cust) -> tuple[list[dict], list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Subscription rows for one account, plus its paying spells (for usage and surveys)."""
    seg = SEGMENTS[cust.seg_idx]
    currency = _currency(rng, cust.region)
    interval = str(rng.choice(["month", "quarter", "year"], p=seg.intervals))
    plan = seg.plans[int(rng.random() < 0.3)]
    seats = float(rng.lognormal(0.0, 0.35))
    discount = 0.85 if interval == "year" else (0.95 if interval == "quarter" else 1.0)
    rows: list[dict] = []
    spells: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    day = cust.first_start
    if rng.random() < 0.02:  # a free first month
        rows.append(dict(plan=plan, start=day, end=day + pd.DateOffset(months=1), amount=0.0,
                         interval="month", currency=currency, term=1, fee=None))
        day = day + pd.DateOffset(months=1)
    spell_start = cust.first_start
    addon_end: pd.Timestamp | None = None
    while day <= END:
        start = day
        months_here = 0
        churned = False
        next_plan = plan
        while True:  # advance month by month on the current line
            months_here += 1
            day = start + pd.DateOffset(months=months_here)
            if day > END:
                break
            at_renewal = interval == "month" or months_here % MONTHS_PER_INTERVAL[interval] == 0
            hazard = seg.churn * (MONTHS_PER_INTERVAL[interval] if at_renewal else 0)
            if interval == "year" and at_renewal:
                hazard = 1 - (1 - seg.churn) ** 12
            if at_renewal and rng.random() < hazard:
                churned = True
                break
            u = rng.random()
            i = PLANS.index(plan)
            if u < 0.012 and i < len(PLANS) - 1:
                next_plan = PLANS[i + 1]
                break
            if u < 0.022 and i > 0 and u >= 0.016:
                next_plan = PLANS[i - 1]
                break
            if u > 0.994 and addon_end is None and day + pd.DateOffset(months=1) <= END:
                addon_start = start + pd.DateOffset(months=months_here) + pd.Timedelta(days=int(rng.integers(0, 20)))
                addon_end = addon_start + pd.DateOffset(months=int(rng.integers(2, 10)))
                rows.append(dict(plan=plan, start=addon_start, end=addon_end if addon_end <= END else None,
                                 amount=round(PLAN_PRICE[plan] * 0.25, 2), interval="month",
                                 currency=currency, term=None, fee=None, addon=True))
        price = PLAN_PRICE[plan] * seats * discount / FX[currency]
        amount = round(price * MONTHS_PER_INTERVAL[interval], 2)
        term = {"month": 1, "quarter": 3, "year": int(rng.choice([12, 12, 24, 36]))}[interval]
        end = day if day <= END else None
        fee = round(float(rng.integers(10, 50)) * 100, 2) if seg.name == "Enterprise" and not rows \
            and rng.random() < 0.4 else None
        rows.append(dict(plan=plan, start=start, end=end, amount=amount, interval=interval,
                         currency=currency, term=None if rng.random() < 0.15 else term, fee=fee))
        if end is None:
            spells.append((spell_start, END))
            break
        if churned:
            spells.append((spell_start, end))
            for r in rows:  # add-ons stop when the account churns
                if r.get("addon") and (r["end"] is None or r["end"] > end):
                    r["end"] = end
            if rng.random() < 0.22:  # comes back after a gap
                day = end + pd.DateOffset(months=int(rng.integers(2, 15))) + pd.Timedelta(days=int(rng.integers(0, 20)))
                spell_start = day
                plan = seg.plans[0]
                continue
            break
        plan = next_plan
    return rows, spells


def _subscriptions(rng, customers: pd.DataFrame):
    rows, spells = [], {}
    for cust in customers.itertuples(index=False):
        lines, sp = _lifecycle(rng, cust)
        spells[cust.customer_id] = sp
        for line in lines:
            end = line["end"]
            if end is not None and end <= line["start"]:
                continue
            rows.append({"customer_id": cust.customer_id, "plan": line["plan"],
                         "start_date": line["start"], "end_date": end, "amount": line["amount"],
                         "billing_interval": line["interval"], "currency": line["currency"],
                         "term_months": line["term"], "setup_fee": line["fee"]})
    subs = pd.DataFrame(rows)
    subs.insert(0, "subscription_id", [f"S{i + 1:06d}" for i in range(len(subs))])
    return subs, spells


def _leads(rng, customers: pd.DataFrame, acv: pd.Series) -> pd.DataFrame:
    rows = []
    acquired = customers[customers["first_start"] >= START]
    for c in acquired.itertuples(index=False):  # every new account came from a won lead
        seg = SEGMENTS[c.seg_idx]
        cycle = max(5, int(rng.gamma(4.0, seg.cycle_days / 4)))
        created = c.first_start - pd.Timedelta(days=cycle)
        rows.append(_lead_path(rng, created, c.acquisition_channel, cycle, "won", c.customer_id,
                               float(acv.get(c.customer_id, 0.0))))
    n_other = 7 * len(acquired)
    span_days = (END - pd.Timestamp("2022-11-01")).days
    created = pd.Timestamp("2022-11-01") + pd.to_timedelta(np.sort(rng.integers(0, span_days, n_other)), unit="D")
    channels = rng.choice(CHANNELS, size=n_other, p=CHANNEL_WEIGHTS)
    for when, ch in zip(created, channels):
        rows.append(_lead_path(rng, when, str(ch), int(rng.gamma(3.0, 15)) + 3, "lost", None, None))
    leads = pd.DataFrame(rows).sort_values(["created_at", "channel"], kind="stable").reset_index(drop=True)
    leads.insert(0, "lead_id", [f"L{i + 1:06d}" for i in range(len(leads))])
    return leads


def _lead_path(rng, created, channel, cycle, outcome, customer_id, amount) -> dict:
    """Stage dates for one lead; lost leads stop at a random stage."""
    reach = 5 if outcome == "won" else int(rng.choice([0, 1, 2, 3, 4], p=[0.40, 0.22, 0.13, 0.13, 0.12]))
    frac = np.sort(rng.uniform(0.05, 0.95, 4))
    stages = {}
    for k, name in enumerate(["mql_at", "sql_at", "opportunity_at", "trial_started_at"]):
        stages[name] = created + pd.Timedelta(days=int(frac[k] * cycle)) if reach > k else None
    trial = stages["trial_started_at"]
    activated = trial + pd.Timedelta(days=int(rng.integers(1, 10))) if trial is not None and \
        (outcome == "won" or rng.random() < 0.4) else None
    closed = created + pd.Timedelta(days=cycle) if reach >= 3 else None
    if closed is not None and closed > END:
        closed, outcome = None, None
    if reach < 3:
        outcome = None
    for name in ("mql_at", "sql_at", "opportunity_at", "trial_started_at"):
        if stages[name] is not None and stages[name] > END:  # not reached yet when the data end
            stages[name] = None
    if activated is not None and (activated > END or stages["trial_started_at"] is None):
        activated = None
    return {"created_at": created, "channel": channel, "owner": REPS[int(rng.integers(len(REPS)))],
            **stages, "activated_at": activated, "closed_at": closed, "outcome": outcome,
            "amount": round(amount, 2) if amount is not None and outcome == "won" else None,
            "customer_id": customer_id if outcome == "won" else None}


def _web(rng) -> pd.DataFrame:
    days = pd.date_range(START, END, freq="D")
    t = np.arange(len(days)) / 365.0
    weekly = np.where(days.day_of_week >= 5, 0.55, 1.0)
    frames = []
    for k, ch in enumerate(CHANNELS):
        base = 600 * CHANNEL_WEIGHTS[k] / CHANNEL_WEIGHTS.max() * (1.0 + 0.35 * t) * weekly
        sessions = rng.poisson(base * 0.45)
        unique = rng.binomial(sessions, 0.82)
        new = rng.binomial(unique, 0.62)
        bounced = rng.binomial(sessions, BOUNCE[k])
        frames.append(pd.DataFrame({"date": days, "channel": ch, "sessions": sessions,
                                    "unique_visitors": unique, "new_visitors": new,
                                    "bounced_sessions": bounced}))
    return pd.concat(frames).sort_values(["date", "channel"], kind="stable").reset_index(drop=True)


def _spend(rng, leads: pd.DataFrame) -> pd.DataFrame:
    cost_per_lead = dict(zip(CHANNELS, [280, 1100, 760, 480, 160, 360, 1750, 240]))
    per = leads.assign(month=leads["created_at"].dt.to_period("M")).groupby(["month", "channel"]).size()
    rows = []
    for m in pd.period_range("2023-01", "2025-12", freq="M"):
        for ch in CHANNELS:
            n = int(per.get((m, ch), 0))
            mkt = n * cost_per_lead[ch] * rng.uniform(0.85, 1.15)
            if ch == "Organic Search":
                mkt += 32000  # SEO retainer: spend even in a month without leads
            sales = n * 440 * rng.uniform(0.9, 1.1) + (20000 if ch in ("Outbound", "Events") else 0)
            rows.append({"month": str(m), "channel": ch, "category": "marketing", "amount": round(mkt, 2)})
            rows.append({"month": str(m), "channel": ch, "category": "sales", "amount": round(sales, 2)})
    return pd.DataFrame(rows)


def _activities(rng) -> pd.DataFrame:
    days = pd.bdate_range(START, END)
    rows = []
    for d in days:
        for k, rep in enumerate(REPS):
            if rng.random() < 0.06:  # out of office
                continue
            calls = int(rng.poisson(28 + 3 * (k % 4)))
            booked = int(rng.poisson(1.6 + 0.2 * (k % 3)))
            rows.append({"date": d, "owner": rep, "calls": calls, "demos_booked": booked,
                         "demos_held": int(rng.binomial(booked, 0.78))})
    return pd.DataFrame(rows)


def _usage_and_surveys(rng, customers, spells):
    usage_rows, survey_rows = [], []
    quarter_ends = pd.period_range("2023-03", "2025-12", freq="M")[::3]  # survey months
    for c in customers.itertuples(index=False):
        engagement = float(rng.lognormal(0.0, 0.5))
        for s_start, s_end in spells[c.customer_id]:
            months = pd.period_range(max(s_start, START).to_period("M"), min(s_end, END).to_period("M"), freq="M")
            churns = s_end < END
            n = len(months)
            for j, m in enumerate(months):
                decline = 1.0
                if churns and n - j <= 3:
                    decline = [0.2, 0.4, 0.65][n - j - 1]
                level = engagement * decline
                for event, mean in EVENTS.items():
                    count = int(rng.poisson(mean * level))
                    if count:
                        usage_rows.append((c.customer_id, str(m), event, count))
                if m in quarter_ends and rng.random() < 0.25:
                    score = int(np.clip(np.rint(rng.normal(6.2 + 2.2 * min(level, 1.6), 1.8)), 0, 10))
                    pool = PROMOTER if score >= 9 else PASSIVE if score >= 7 else DETRACTOR
                    comment = str(rng.choice(pool)) if rng.random() < 0.45 else ""
                    survey_rows.append(("nps", c.customer_id, m.end_time.normalize() - pd.Timedelta(days=int(rng.integers(0, 10))), score, comment))
                if rng.random() < 0.02:
                    survey_rows.append(("ces", c.customer_id, m.start_time + pd.Timedelta(days=int(rng.integers(0, 27))),
                                        int(np.clip(np.rint(rng.normal(5.3, 1.2)), 1, 7)), str(rng.choice(CES_COMMENTS))))
    for q in quarter_ends:  # employee survey
        staff = 60 + 5 * int((q - quarter_ends[0]).n // 3)
        for e in range(staff):
            if rng.random() < 0.7:
                score = int(np.clip(np.rint(rng.normal(7.6, 1.9)), 0, 10))
                survey_rows.append(("enps", f"E{e + 1:03d}", q.end_time.normalize() - pd.Timedelta(days=int(rng.integers(3, 14))),
                                    score, str(rng.choice(ENPS_COMMENTS)) if rng.random() < 0.3 else ""))
    usage = pd.DataFrame(usage_rows, columns=["customer_id", "month", "event", "count"])
    survey = pd.DataFrame(survey_rows, columns=["survey", "respondent_id", "responded_at", "score", "comment"])
    survey = survey.sort_values(["responded_at", "survey", "respondent_id"], kind="stable").reset_index(drop=True)
    survey.insert(0, "response_id", [f"R{i + 1:06d}" for i in range(len(survey))])
    return usage, survey


def _financials(rng, subs: pd.DataFrame) -> pd.DataFrame:
    from ..metrics.mrr import customer_mrr

    fx = pd.DataFrame({"currency": list(FX), "rate_to_base": list(FX.values())})
    mrr = customer_mrr(subs, fx, start="2023-01", end="2025-12").sum(axis=0)
    rows = []
    for m, revenue in mrr.items():
        revenue = float(revenue) * rng.uniform(0.99, 1.01)
        rows.append({"month": str(m), "revenue": round(revenue, 2),
                     "cogs": round(revenue * rng.uniform(0.20, 0.24), 2),
                     "operating_expenses": round(revenue * rng.uniform(0.78, 0.86), 2)})
    return pd.DataFrame(rows)


def _write(df: pd.DataFrame, path: Path) -> Path:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL, float_format="%.2f")
    return path


#: The sample company's goals and annotations (``goals.yaml``, kpilib.data.goals): the plan its board
#: set, in USD. December 2025 falls short of its MRR goal, June 2025 beat its goal, and the 2026 goals
#: are there for the forecast page to judge.
SAMPLE_GOALS = """\
# The sample company's plan: goals per KPI and period, and dated events for the charts.
# Schema: docs/data-contract.md, "Goals and annotations". Rates are fractions (0.02 = 2 %).
currency: USD
goals:
  mrr:
    2025-06: 1_100_000
    2025-12: 1_450_000
    2025-Q4: 1_450_000
    2025: 1_450_000
    2026-06: 1_700_000
    2026-12: 2_000_000
  arr:
    2025-12: 17_400_000
    2025-Q4: 17_400_000
    2025: 17_400_000
  nrr:
    2025-12: 1.05
    2025: 1.05
  customer_churn_monthly:
    2025-12: 0.02
    2025-Q4: 0.02
  customer_churn:
    2025: 0.20
segments:
  Enterprise:
    mrr:
      2025-12: 600_000
annotations:
  - date: 2025-05-01
    label: Price change
  - date: 2025-10-01
    label: Autumn campaign
"""


def generate_sample(out_dir: str | Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write the sample company, one ``<table>.csv`` per contract table, and its ``goals.yaml``
    (:data:`SAMPLE_GOALS`, the same for every seed) into ``out_dir``; returns the paths by table
    name, the goals file under ``"goals"``."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers = _customers(rng)
    subs, spells = _subscriptions(rng, customers)
    fx = pd.DataFrame({"currency": list(FX), "rate_to_base": list(FX.values())})
    first_rows = subs.sort_values("start_date", kind="stable").drop_duplicates("customer_id")
    acv = (first_rows.set_index("customer_id")["amount"]
           / first_rows.set_index("customer_id")["billing_interval"].map(MONTHS_PER_INTERVAL)
           * first_rows.set_index("customer_id")["currency"].map(FX) * 12)
    leads = _leads(rng, customers, acv)
    usage, survey = _usage_and_surveys(rng, customers, spells)
    subs["term_months"] = subs["term_months"].astype("Int64")
    tables = {
        "customers": customers.drop(columns=["first_start", "seg_idx"]),
        "subscriptions": subs,
        "fx_rates": fx,
        "leads": leads,
        "web_traffic": _web(rng),
        "marketing_spend": _spend(rng, leads),
        "sales_activities": _activities(rng),
        "survey_responses": survey,
        "product_usage": usage,
        "financials": _financials(rng, subs),
    }
    paths = {name: _write(df, out / f"{name}.csv") for name, df in tables.items()}
    (out / "goals.yaml").write_text(SAMPLE_GOALS, encoding="utf-8", newline="\n")
    return {**paths, "goals": out / "goals.yaml"}
