"""The KPI registry: one specification per headline KPI.

A :class:`KpiSpec` declares everything the pack says about a KPI once: its label, unit,
scope (an account-level figure that a segment pack recomputes, or a company-wide one it
withholds), what it means for a month, a quarter and a year, its health rule with the
source of the target, the anchor of its definition in docs/metrics.md, the report page
that explains it, and the function that reads it from a :class:`~kpilib.KpiModel`.
Tiles, ``kpis.json``/``kpis.csv``, the tables' headers and the glossary all read this
registry: adding a KPI means one spec here and, if new, one function in the metrics layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..data.currency import rates_at
from ..i18n import N_, SOURCE_LANGUAGE, _, current_language, using
from ..metrics.acquisition import LTV_CAC_TARGET
from ..metrics.funnel import BOUNCE_THRESHOLD
from ..metrics.revenue import CHURN_BAND, RULE_OF_40

if TYPE_CHECKING:
    from .model import KpiModel

Unit = Literal["money", "count", "pct", "ratio", "months", "points"]
Scope = Literal["account", "company"]
Status = Literal["ok", "warn", "bad", "none"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Verdict:
    """A health judgement: the status and the target it was judged against, with its source."""

    status: Status
    target: str = ""


@dataclass(frozen=True)
class KpiSpec:
    """One headline KPI (see the module docstring)."""

    key: str
    label: str
    unit: Unit
    page: str
    definition: str
    meaning: dict[str, str]
    compute: Callable[[KpiModel], float]
    scope: Scope = "account"
    health: Callable[[float, KpiModel], Verdict] | None = None
    kinds: tuple[str, ...] = ("month", "quarter", "year")  # period kinds showing it as a tile
    company_reason: str = field(default="")
    source: str = ""
    #: for a company-wide KPI: when the data tie it to accounts after all (e.g. leads with a segment)
    segment_ready: Callable[[KpiModel], bool] | None = None
    #: the health target in a few words, for the glossary table (from the same constant): a message,
    #: or a function writing it in the current language when it holds numbers
    target: str | Callable[[], str] = "-"
    better: Better = "higher"  # which way is good: a goal is met at or above it ("higher") or at or below it
    share: bool = False  # a share of a whole (churn, win rate): between 0 and 1, which a goal must respect

    def target_text(self) -> str:
        """The health target in the current language ("-" when there is none)."""
        if callable(self.target):
            return self.target()
        return _(self.target) if self.target not in ("", "-") else self.target

    @property
    def anchor(self) -> str:
        """Its id in docs/metrics.md and the pack's glossary page."""
        return f"kpi-{self.key.replace('_', '-')}"


# --- health rules -------------------------------------------------------------------------

#: MRR growth targets per month by ARR band (upper bound in USD, target, source).
#: ``{low}``, ``{high}``: the band's bounds and ``{rate}`` its target, formatted where the text is shown
#: (:func:`growth_band_text`: ``$1M`` in English, ``1 M$US`` in French).
GROWTH_BANDS: tuple[tuple[float, float, str], ...] = (
    (1e6, 0.15, N_("early stage (ARR under {high}): {rate}/month, the glossaries' target")),
    (1e7, 3 ** (1 / 12) - 1, N_("ARR {low}-{high}: tripling a year ({rate}/month), after T2D3 (Battery Ventures, "
                                "2015; the {low}/{high} breaks are the kit's)")),
    (float("inf"), 2 ** (1 / 12) - 1,
     N_("ARR {low} and above: doubling a year ({rate}/month), after T2D3 (Battery Ventures, 2015)")),
)


def growth_band_text(i: int) -> str:
    """Band ``i`` of :data:`GROWTH_BANDS` in the current language, its bounds in USD (the bands are
    T2D3's, in dollars) and its target as the locale writes them."""
    from .format import format_money

    low = GROWTH_BANDS[i - 1][0] if i else 0.0
    high, rate, text = GROWTH_BANDS[i]
    decimals = 0 if float(round(rate * 100, 1)).is_integer() else 1  # 15%, 9.6%
    return _(text).format(low=format_money(low, "USD", short=True), rate=_pct_text(rate, decimals),
                          high=format_money(high, "USD", short=True) if np.isfinite(high) else "")


def usd_arr(model: KpiModel) -> tuple[float, bool]:
    """The model's ARR in USD for choosing a growth band, and whether a USD rate was used.

    Without a USD rate in fx_rates, the base-currency ARR is taken as it is (said on the tile).
    """
    arr = float(model.revenue["arr"])
    fx = rates_at(model.data.fx_rates, model.period.last)
    base = model.base_currency
    if base == "USD":
        return arr, True
    if fx is not None and "USD" in set(fx["currency"]):
        rates = fx.set_index("currency")["rate_to_base"].astype(float)
        return arr * rates[base] / rates["USD"], True
    return arr, False


def growth_target(model: KpiModel) -> tuple[float, str]:
    """The monthly MRR growth target that fits the company's stage (its ARR band), with its source
    in the current language."""
    arr, in_usd = usd_arr(model)
    for i, (bound, target, _source) in enumerate(GROWTH_BANDS):
        if arr < bound:
            if in_usd:
                return target, growth_band_text(i)
            return target, _("{band} (bands read in {currency}: no USD rate)").format(
                band=growth_band_text(i), currency=model.base_currency)
    raise AssertionError("the last band is unbounded")


def _growth_health(value: float, model: KpiModel) -> Verdict:
    target, source = growth_target(model)
    if not np.isfinite(value):
        return Verdict("none", source)
    return Verdict("ok" if value >= target else "warn", source)


def _pct_text(x: float, decimals: int = 0) -> str:
    """A constant's percentage as the rules print it: ``2%`` (``2 %`` in French)."""
    from .display import percent

    return percent(x, decimals)


def _number_text(x: float) -> str:
    """A constant as the rules print it, with ``g`` digits: ``3``, ``40``, ``2.5`` (``2,5``)."""
    if current_language() == "en":
        return f"{x:g}"
    from babel.numbers import format_decimal

    from ..i18n import current_locale

    return format_decimal(x, locale=current_locale())


def _churn_health(value: float, model: KpiModel) -> Verdict:
    text = _("healthy at {healthy} a month or less, unhealthy above {unhealthy} (the glossaries' band)").format(
        healthy=_pct_text(CHURN_BAND[0]), unhealthy=_pct_text(CHURN_BAND[1]))
    if not np.isfinite(value):
        return Verdict("none", text)
    return Verdict("ok" if value <= CHURN_BAND[0] else "warn" if value <= CHURN_BAND[1] else "bad", text)


def _at_least(target: float, text: Callable[[], str], below: Status = "bad") -> Callable[[float, KpiModel], Verdict]:
    """A rule met at ``target`` or more; ``text()`` says it in the current language."""
    def rule(value: float, model: KpiModel) -> Verdict:
        if not np.isfinite(value):
            return Verdict("none", text())
        return Verdict("ok" if value >= target else below, text())
    return rule


def _bounce_health(value: float, model: KpiModel) -> Verdict:
    text = _("healthy below {limit} (the glossaries' target)").format(limit=_pct_text(BOUNCE_THRESHOLD))
    if not np.isfinite(value):
        return Verdict("none", text)
    return Verdict("ok" if value < BOUNCE_THRESHOLD else "bad", text)


# --- the registry ----------------------------------------------------------------------------

# Labels, definitions, meanings and reasons are English here (kpis.json and the docs use them as
# they are), marked with N_ for the catalog and translated where a page shows them.
_STOCK = {"month": N_("at the month's end"), "quarter": N_("at the quarter's last month end"),
          "year": N_("at the year's last month end")}
_FLOW = {"month": N_("over the month"), "quarter": N_("summed over the quarter's three months"),
         "year": N_("summed over the year's twelve months")}
#: a rate of flows (churn, wins, bounces): its numerator and denominator summed, never its monthly rates
_RATE_OF_FLOWS = {"month": N_("over the month"),
                  "quarter": N_("numerator and denominator each summed over the quarter's three months"),
                  "year": N_("numerator and denominator each summed over the year's twelve months")}
_TTM = {k: N_("trailing twelve months to the period's end") for k in ("month", "quarter", "year")}
_COMPANY = N_("company-wide by nature: not attributed to segments")


def _voice_meaning() -> dict[str, str]:
    return {"month": N_("the latest quarterly survey wave closed by the month's end"),
            "quarter": N_("the latest quarterly survey wave closed by the quarter's end (its own, once answered)"),
            "year": N_("every answer of the year")}


def _econ(name: str) -> Callable[[KpiModel], float]:
    return lambda m: float(m.unit_economics[0].loc[name, "value"])


_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec("mrr", N_("MRR"), "money", "01_revenue", N_("Monthly recurring revenue"), _STOCK,
            lambda m: m.revenue["mrr"],
            source='ChartMogul, MRR (month-end snapshot); Stripe, Billing metric definitions'),
    KpiSpec("arr", N_("ARR"), "money", "01_revenue", N_("12 x MRR"), _STOCK, lambda m: m.revenue["arr"],
            source='ChartMogul, ARR = 12 x MRR'),
    KpiSpec("customers", N_("Paying customers"), "count", "01_revenue",
            N_("Customers with MRR > 0"), _STOCK, lambda m: m.revenue["customers"],
            source='ChartMogul, Customers (MRR > 0)'),
    KpiSpec("arpa", N_("ARPA"), "money", "01_revenue", N_("MRR / paying customers"), _STOCK,
            lambda m: m.revenue["arpa"],
            source='ChartMogul, Average Revenue Per Account'),
    KpiSpec("net_new_mrr", N_("Net new MRR"), "money", "01_revenue",
            N_("New + expansion + reactivation + contraction + churn (closing - opening MRR, without FX impact)"),
            _FLOW, lambda m: m.revenue["net_new_mrr"],
            source='ChartMogul, Net MRR movement'),
    KpiSpec("mrr_growth", N_("MRR growth (period)"), "pct", "01_revenue",
            N_("(Closing MRR - opening MRR) / opening MRR"),
            {"month": N_("growth over the month"), "quarter": N_("growth over the quarter"),
             "year": N_("growth over the year")},
            lambda m: m.revenue["mrr_growth"], kinds=("quarter", "year"),
            source='ChartMogul, MRR growth rate'),
    KpiSpec("mrr_cmgr", N_("MRR growth /month"), "pct", "01_revenue",
            N_("Compounded monthly growth: (closing / opening MRR) ^ (1 / months) - 1"),
            {"month": N_("growth over the month"), "quarter": N_("compounded monthly growth over the quarter"),
             "year": N_("compounded monthly growth over the year")},
            lambda m: m.revenue["mrr_cmgr"], health=_growth_health,
            target=lambda: _("by ARR band: {bands}").format(
                bands="; ".join(growth_band_text(i) for i in range(len(GROWTH_BANDS)))),
            source="compounded monthly growth rate (CMGR); target bands: the glossaries, "
                   "T2D3 (Battery Ventures, 2015)"),
    KpiSpec("customer_churn", N_("Customer churn (period)"), "pct", "02_churn_cohorts",
            N_("Customers paying at the period's start and not at its end / customers paying at its start"),
            {"month": N_("share of the month's starting customers lost"),
             "quarter": N_("share of the quarter's starting customers lost"),
             "year": N_("share of the year's starting customers lost")},
            lambda m: m.revenue["customer_churn"], kinds=("quarter", "year"), better="lower", share=True,
            source="ChartMogul, Customer Churn Rate (customers at the period's start as the base)"),
    KpiSpec("customer_churn_monthly", N_("Customer churn /month"), "pct", "02_churn_cohorts",
            N_("Monthly equivalent of the period's customer churn: 1 - (1 - churn) ^ (1 / months)"),
            {"month": N_("share of the month's starting customers lost"),
             "quarter": N_("monthly equivalent of the quarter's churn"),
             "year": N_("monthly equivalent of the year's churn")},
            lambda m: m.revenue["customer_churn_monthly"], health=_churn_health, better="lower", share=True,
            target=lambda: _("<= {healthy} healthy, > {unhealthy} unhealthy").format(
                healthy=_pct_text(CHURN_BAND[0]), unhealthy=_pct_text(CHURN_BAND[1])),
            source="the glossaries' 2-5% monthly band"),
    KpiSpec("gross_mrr_churn", N_("Gross MRR churn (period)"), "pct", "02_churn_cohorts",
            N_("-(churn + contraction) / opening MRR"),
            {"month": N_("over the month"),
             "quarter": N_("the quarter's churn and contraction summed, over the MRR at its start"),
             "year": N_("the year's churn and contraction summed, over the MRR at its start")},
            lambda m: m.revenue["gross_mrr_churn"], better="lower",
            share=True,
            source='ChartMogul, Gross MRR Churn Rate'),
    KpiSpec("nrr", N_("NRR (12 months)"), "pct", "01_revenue",
            N_("MRR now of the customers paying 12 months ago / their MRR then"),
            {k: N_("the twelve months to the period's end") for k in _STOCK}, lambda m: m.retention["nrr"],
            source='ChartMogul, Net MRR Retention (cohort of 12 months ago)'),
    KpiSpec("grr", N_("GRR (12 months)"), "pct", "01_revenue",
            N_("As NRR with each customer's MRR capped at its MRR 12 months ago"),
            {k: N_("the twelve months to the period's end") for k in _STOCK}, lambda m: m.retention["grr"],
            kinds=(), share=True,
            source="common convention: NRR without expansion, each customer capped at its MRR then"),
    KpiSpec("quick_ratio", N_("Quick ratio"), "ratio", "01_revenue",
            N_("(New + expansion + reactivation) / |churn + contraction|"), _RATE_OF_FLOWS,
            lambda m: m.revenue["quick_ratio"],
            source='Mamoon Hamid (Social Capital, 2015), SaaS Quick Ratio'),
    KpiSpec("ltv_cac", N_("LTV:CAC"), "ratio", "04_clv_cac",
            N_("LTV / blended CAC, LTV = new-customer ARPA x gross margin / six-month churn"),
            {"month": N_("CAC of the month; LTV on the six months before it"),
             "quarter": N_("CAC of the quarter; LTV on the six months before its last month"),
             "year": N_("CAC of the year; LTV on the six months before its last month")},
            _econ("LTV:CAC"), scope="company",
            health=_at_least(LTV_CAC_TARGET, lambda: _("healthy at {ratio}:1 or more (the glossaries' target)").format(
                ratio=_number_text(LTV_CAC_TARGET))),
            target=lambda: f">= {_number_text(LTV_CAC_TARGET)}",
            company_reason=N_("marketing and sales spend is recorded per channel, not per segment"),
            source="ChartMogul LTV (six-month churn window); 3:1 target: the glossaries, "
                   "David Skok (For Entrepreneurs)"),
    KpiSpec("cac_payback", N_("CAC payback"), "months", "04_clv_cac",
            N_("CAC / (ARPA of new customers x gross margin), the same ARPA basis as LTV"),
            {"month": N_("CAC and new customers' ARPA of the month"),
             "quarter": N_("CAC and new customers' ARPA of the quarter (spend and new customers over its three "
                           "months)"),
             "year": N_("CAC and new customers' ARPA of the year (spend and new customers over its twelve "
                        "months)")},
            _econ("CAC payback (months)"), better="lower",
            scope="company", company_reason=N_("marketing and sales spend is recorded per channel, not per segment"),
            source='David Skok (For Entrepreneurs), months to recover CAC'),
    KpiSpec("nps", N_("NPS"), "points", "05_nps", N_("% promoters - % detractors"), _voice_meaning(),
            lambda m: m.voice("nps")["nps"],
            source='Reichheld (2003), The One Number You Need to Grow, HBR'),
    KpiSpec("win_rate", N_("Win rate"), "pct", "03_funnel",
            N_("Deals won / deals closed (won or lost) in the period"), _RATE_OF_FLOWS, lambda m: m.win_rate,
            share=True,
            scope="company", company_reason=N_("leads carry no segment until they become customers"),
            source="won / (won + lost), deals closed in the period",
            segment_ready=lambda m: m.leads_have_segment),
    KpiSpec("bounce_rate", N_("Bounce rate"), "pct", "03_funnel",
            N_("Bounced sessions / sessions"), _RATE_OF_FLOWS,
            lambda m: m.web["bounce_rate"] if m.web is not None else float("nan"),
            scope="company", health=_bounce_health, better="lower", share=True,
            company_reason=N_("web traffic is not tied to accounts"),
            target=lambda: f"< {_pct_text(BOUNCE_THRESHOLD)}",
            source='Google Analytics (Universal) definition: single-page sessions / sessions'),
    KpiSpec("rule_of_40", N_("Rule of 40"), "pct", "01_revenue",
            N_("Revenue growth (year over year) + profit margin, trailing twelve months"), _TTM,
            lambda m: m.rule_of_40["rule_of_40"], scope="company",
            health=_at_least(RULE_OF_40, lambda: _("healthy at {score} or more (Brad Feld, 2015; the "
                                                   "glossaries)").format(score=_pct_text(RULE_OF_40)),
                             below="warn"),
            target=lambda: f">= {_pct_text(RULE_OF_40)}",
            company_reason=N_("financials are the company's profit and loss"),
            source='Brad Feld (2015), The Rule of 40% for a Healthy SaaS Company'),
)

KPIS: dict[str, KpiSpec] = {s.key: s for s in _SPECS}


def registry_markdown() -> str:
    """The registry as the glossary table of docs/metrics.md (kept in step by a test)."""
    lines = ["| KPI | unit | scope | month | quarter | year | health target | source |",
             "|---|---|---|---|---|---|---|---|"]
    for spec in _SPECS:
        with using(SOURCE_LANGUAGE):  # the docs are English
            target = spec.target_text()
        scope = "account" if spec.scope == "account" else (
            "company-wide (the segment's when leads carry a segment)" if spec.segment_ready else "company-wide")
        cells = [spec.definition, spec.unit, scope, spec.meaning["month"], spec.meaning["quarter"],
                 spec.meaning["year"], target, spec.source]
        # a bar inside a cell (|churn + contraction|) would end it: escaped, or the table is no table
        lines.append(f"| <a id=\"{spec.anchor}\"></a>**{spec.label}** (`{spec.key}`): "
                     + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_registry_docs(path: str | None = None) -> None:
    """Replace the registry table of docs/metrics.md (between its markers) with :func:`registry_markdown`."""
    from ..paths import DOCS_DIR

    target = DOCS_DIR / "metrics.md" if path is None else path
    text = open(target, encoding="utf-8").read()
    begin, end = "<!-- registry:begin -->\n", "<!-- registry:end -->"
    head, rest = text.split(begin, 1)
    tail = rest[rest.index(end):]
    with open(target, "w", encoding="utf-8") as f:
        f.write(head + begin + registry_markdown() + tail)
