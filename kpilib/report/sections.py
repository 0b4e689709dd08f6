"""The prose of the pages: each notebook's introduction and its sections' headings and texts.

A notebook holds no words of its own (they could not be translated there): ``kpi.section(page)``
shows the page's title (its index title, ``PAGE_TITLES`` in kpilib/report/sitemap.py) and
introduction, and ``kpi.section(page, key)`` a section's heading and text, in the current
language (kpilib/i18n.py). Texts are Markdown (bold, code spans), rendered to HTML here, so a
page looks the same in JupyterLab and in the pack. Health thresholds quoted in a text are
filled from the constants the tiles are judged against, so the prose cannot disagree with them.
"""

from __future__ import annotations

import html

from IPython.display import HTML

from ..errors import KpiError
from ..i18n import N_, _, current_locale

#: page -> section key -> (heading, Markdown text); "intro" has no heading of its own (the page title).
SECTIONS: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "00_overview": {
        "intro": (None,
            N_("**How did we do this period?** The headline revenue and customer figures, each compared with the "
             "previous period and with the same period a year earlier. Every tile links to its detail report. "
             "Definitions of every figure are in the kit's `docs/metrics.md`.")),
        "headline": (N_("Headline figures"),
            N_("Stocks (MRR, ARR, customers) are taken at the last month end of the period; flows are summed "
             "over its months; churn is the share of the customers paying at the period's start who no longer "
             "pay at its end. Hover over a tile for its definition and the target its colour was judged "
             "against.")),
        "changes": (N_("What changed"),
            N_("The accounts whose MRR moved most this period (MRR at the period's last month end against the "
             "month end before the period began).")),
        "mrr_trend": (N_("MRR over the last two years"),
            None),
        "figures": (N_("The figures behind the tiles"),
            None),
    },
    "01_revenue": {
        "intro": (None,
            N_("**What is our recurring revenue, how did it move, and where does it come from?** All amounts are "
             "monthly recurring revenue (MRR) in the base currency at constant exchange rates. A customer's "
             "MRR is the sum of its subscriptions active on the last day of the month.")),
        "headline": (N_("Headline revenue figures"),
            None),
        "bridge": (N_("MRR bridge"),
            N_("Opening MRR plus the period's movements gives closing MRR: new (first payment ever), expansion, "
             "reactivation (paying again after a gap), contraction and churn. Open a movement below the chart "
             "to see the customers behind it: each list sums to the figure, can be searched and sorted, and "
             "downloads as CSV (all of the period's customer-months are in `movements.csv`).")),
        "movements": (N_("Movements over time"),
            None),
        "groups": (N_("By segment and plan"),
            N_("MRR at the period end and the period's movements per group. A customer who keeps paying but "
             "switches plan is moved out of the old plan and moved in to the new one, so new business, churn "
             "and net new MRR of the groups add up to the company's.")),
        "retention": (N_("Net and gross revenue retention"),
            N_("NRR: the MRR today of the customers who paid twelve months ago, over their MRR then. GRR caps "
             "each customer at its MRR then, so only losses count.")),
        "bookings": (N_("Bookings and efficiency"),
            None),
    },
    "02_churn_cohorts": {
        "intro": (None,
            N_("**How many customers and how much revenue do we keep, and what does that imply for lifetime "
             "value?** A customer's cohort is the month of its first month-end MRR above zero.")),
        "churn": (N_("Churn rates"),
            N_("Customer churn: the share of the customers paying at a month's start who no longer pay at its "
             "end (the glossaries' band: up to {healthy} a month is healthy, above {unhealthy} is not). "
             "Gross MRR churn: MRR lost to churn and contraction over the opening MRR.")),
        "cohorts": (N_("Cohort retention"),
            N_("Each row is the cohort of customers whose first paid month end fell in that month; each column "
             "the share still paying (logo) or the share of the cohort's first MRR still paid (revenue) so "
             "many months later.")),
        "cohort_list": (None,
            N_("Open a cohort to see its customers: the ages listed for a customer are the cells it counts in "
             "(age 0 is its first paid month end; a customer who stopped and came back counts again at the "
             "ages it pays).")),
        "segments": (N_("By segment"),
            None),
        "sbg": (N_("Projected survival and lifetime value (sBG)"),
            N_("The shifted-beta-geometric model (Fader and Hardie, 2007) fitted to the twelve cohorts that "
             "started 13 to 24 months before the period's end, each observed for its first year.")),
        "intervals": (N_("Churn at renewal, by billing interval"),
            N_("An annual customer can leave only at a renewal, so each billing interval gets its own sBG model, "
             "counted in its own renewal periods; the company figures weight them by the acquisition mix. The "
             "CLV on the CLV/CAC page comes from this model.")),
        "churned": (N_("Largest churned accounts"),
            None),
        "churned_list": (None,
            N_("Every account that was paying at the period's start and no longer pays at its end (the churn "
             "rate's numerator), largest first:")),
    },
    "03_funnel": {
        "intro": (None,
            N_("**How do visitors become customers, and how fast?** Two views of the same leads: the **cohort "
             "view** follows the leads created in the period (it changes retroactively as they progress, so a "
             "recent month's conversion rises over time); the **flow view** counts the stage events that "
             "happened in the period, whenever the lead was created.")),
        "funnel": (N_("From lead to customer"),
            N_("Two views of the same leads. **Cohort**: the leads created in the period and how far they have "
             "got by its end (conversion rates use it). **Flow**: the stage events that happened in the "
             "period, whenever the lead was created (activity volumes use it).")),
        "funnel_list": (None,
            N_("Open a stage to see the leads created in the period that reached it by the period's end (cohort "
             "view):")),
        "channels": (N_("By channel"),
            N_("Leads, MQLs, SQLs, opportunities, won and lead -> customer follow the leads created in the "
               "period, as far as they had got by its end; the win rate counts every deal closed in the period, "
               "whatever month its lead came in. A channel can show a win rate while none of the period's own "
               "leads has been won yet.")),
        "cycle": (N_("Sales cycle"),
            N_("The chart: the days from a lead's creation to its win, for the deals won in the period. The "
               "table: the days each stage took for the leads created in the period that have reached the next "
               "stage. They follow different deals, so the stages need not add up to the chart's median.")),
        "reps": (N_("Sales reps"),
            N_("Leads and won: the leads created in the period and those of them won by its end (deals won / "
               "leads divides the two); calls and demos: the activity logged in the period. The headline win "
               "rate counts the deals closed in the period instead.")),
        "web": (N_("Website traffic"),
            N_("Bounce rate: sessions that viewed one page, over all sessions (the glossaries: healthy below "
             "{bounce}).")),
    },
    "04_clv_cac": {
        "intro": (None,
            N_("**What does a customer cost to win, and what is it worth?** A customer is attributed to its "
             "acquisition channel; it is *new* in the month of its first payment. Channel CAC uses the "
             "channel's own marketing and sales spend; blended CAC uses all spend.")),
        "costs": (N_("What it costs to win a customer"),
            N_("CAC = marketing and sales spend of the period / customers whose first paying month falls in it; "
             "CPL = marketing spend / leads created; CPA = spend / deals won. Per channel and blended.")),
        "ltv": (N_("Lifetime value against acquisition cost"),
            N_("LTV = ARPA x gross margin / monthly customer churn (churn averaged over the six months before "
             "the report month, as ChartMogul does). CAC buys new customers, so LTV and CAC payback both use "
             "the ARPA of the period's new customers; the installed-base version (ChartMogul's basis) is shown "
             "beside it, and the sBG CLV comes from the per-billing-interval churn model of the churn page.")),
        "return": (N_("Return per channel"),
            None),
    },
    "05_nps": {
        "intro": (None,
            N_("**What do customers and employees say, and does engagement predict churn?** NPS = % promoters "
             "(9–10) − % detractors (0–6), in points from −100 to 100, always shown with the number of answers "
             "(n) and the 95% margin of error.")),
        "nps": (N_("NPS"),
            N_("Surveys run in quarterly waves. A month or quarter shows the latest wave that had closed by the "
             "period's end, compared with the wave before; a year shows every answer of the year.")),
        "nps_list": (None,
            N_("Open a group to see who answered, when, and what they wrote:")),
        "enps": (N_("eNPS"),
            N_("The same calculation on the employee survey (company-wide by nature).")),
        "ces": (N_("Customer effort score"),
            N_("Answers on a 1-7 scale (7 = very easy) in the wave.")),
        "comments": (N_("What customers wrote"),
            N_("The latest commented answers from promoters and detractors in the wave, shown as written "
             "(escaped, never interpreted).")),
        "engagement": (N_("Engagement and churn"),
            N_("The engagement score (0-100) ranks each account's monthly product usage against the other active "
             "accounts that month, on log(1 + weighted events) with weights {weights}. The chart tests whether "
             "engaged customers churn less: the share of accounts in each band that stopped paying within the "
             "next three months.")),
    },
    "06_forecast": {
        "intro": (None,
            N_("**Where will MRR be in twelve months, how well did the kit's own forecasts do, and are we on "
             "plan?** The forecast starts from what was known at the period's end: today's customers keep "
             "paying while their signed terms run (committed MRR) and then renew as their billing interval's "
             "fitted retention says, grown by the net expansion of the last twelve months; new business "
             "follows the last twelve months' run-rate of new MRR. The band is a seeded bootstrap, so the page "
             "is the same on every run. Definitions: the glossary's Forecast section (docs/metrics.md).")),
        "forecast": (N_("MRR in twelve months"),
            N_("MRR at each month end, the forecast's central line with its 80% band, the MRR already committed "
             "by signed terms, and the goals and dated events of the goals file (when the data folder has "
             "one).")),
        "assumptions": (N_("What the forecast rests on"),
            N_("The retention fitted per billing interval (an annual customer can leave only at a renewal), the "
             "net expansion rate, the run-rate of new business and the installed base.")),
        "backtest": (N_("Track record"),
            N_("The same forecast made 3, 6 and 12 months before the period's end, from the data known then, "
             "against the MRR that happened.")),
        "pipeline": (N_("The open pipeline"),
            N_("Opportunities open at the period's end, weighted by the win rate of the last twelve months and "
             "timed by their sales cycles. The forecast's run-rate already counts deals like these, so the "
             "pipeline is compared with it, not added to it.")),
    },
}


def _threshold(x: float) -> str:
    """A health threshold as a whole percentage for the current locale (``2%``, ``2 %``)."""
    from babel.numbers import format_percent

    return format_percent(x, locale=current_locale())


#: The product events the engagement score weighs (voice.ENGAGEMENT_WEIGHTS), as the pages name them.
EVENT_NAMES = {"login": N_("login"), "dashboard_viewed": N_("dashboard viewed"), "report_created": N_("report created"),
               "user_invited": N_("user invited"), "api_call": N_("API call")}


def _weights() -> str:
    """The engagement score's weights as the pages state them (``login 1, ..., API call 0.01``),
    written from :data:`~kpilib.metrics.voice.ENGAGEMENT_WEIGHTS`, numbers in the current locale."""
    from babel.numbers import format_decimal

    from ..metrics.voice import ENGAGEMENT_WEIGHTS

    return ", ".join(f"{_(EVENT_NAMES[event]) if event in EVENT_NAMES else event} "
                     f"{format_decimal(weight, locale=current_locale())}"
                     for event, weight in ENGAGEMENT_WEIGHTS.items())


def _fields() -> dict[str, str]:
    from ..metrics.funnel import BOUNCE_THRESHOLD
    from ..metrics.revenue import CHURN_BAND

    return {"healthy": _threshold(CHURN_BAND[0]), "unhealthy": _threshold(CHURN_BAND[1]),
            "bounce": _threshold(BOUNCE_THRESHOLD), "weights": _weights()}


def section_html(page: str, key: str = "intro") -> str:
    """The HTML of one section: ``<h1>`` with the page title for ``intro``, else ``<h2>``, then its text."""
    import mistune

    from .sitemap import PAGE_TITLES

    if page not in SECTIONS or key not in SECTIONS[page]:
        known = ", ".join(f"{p}:{k}" for p in SECTIONS for k in SECTIONS[p])
        raise KpiError(f"no section {page}:{key}; the sections are {known}")
    heading, text = SECTIONS[page][key]
    title = _(PAGE_TITLES[page][1]) if key == "intro" else _(heading or "")
    level = 1 if key == "intro" else 2
    out = f'<h{level} class="kpi-section">{html.escape(title)}</h{level}>' if title else ""
    if text:
        words = _(text)
        out += str(mistune.html(words.format(**_fields()) if "{" in text else words))
    return out


def section(page: str, key: str = "intro") -> HTML:
    """Show a page's title and introduction (``key="intro"``) or one of its sections."""
    return HTML(section_html(page, key))
