"""Words from numbers: each title states what its figures show, and flips when they do."""

from __future__ import annotations

import pandas as pd
import pytest

from kpilib import titles
from kpilib.errors import KpiError


def test_largest_gain_names_the_movement_that_added_most():
    months = pd.DataFrame({"new": [28_767.0], "expansion": [32_142.0], "reactivation": [815.0]})
    text = titles.largest_gain_title(months, "USD")
    assert text.startswith("Expansion added the most MRR over 1 months") and "ahead of new business" in text
    flipped = months.assign(new=[40_000.0])
    assert titles.largest_gain_title(flipped, "USD").startswith("New business added the most")
    assert titles.largest_gain_title(months * 0, "USD") == "No MRR was gained in these months"


def test_waterfall_title_follows_the_change_of_mrr_and_names_the_fx_impact():
    def title(opening, mrr, fx=0.0, month="December 2025"):
        return titles.waterfall_title(pd.Series({"opening_mrr": opening, "mrr": mrr, "fx_impact": fx}), "USD", month)

    assert title(1_359_758.0, 1_396_447.0) == "MRR grew by $36.7K in December 2025"
    assert title(100.0, 95.0).startswith("MRR fell by $5")
    assert title(100.0, 100.0) == "MRR did not change in December 2025"
    # movements +30, FX impact -40: MRR fell, and the title says how much the rates took
    assert title(1_000.0, 990.0, fx=-40.0) == "MRR fell by $10 in December 2025, of which FX impact -$40"


def test_retention_verdict_flips_at_100_percent():
    month = pd.Period("2025-12", "M")
    assert titles.retention_title(1.01, 0.81, month).endswith("expansion more than offsets losses")
    assert titles.retention_title(0.95, 0.81, month).endswith("losses exceed expansion")
    assert "undefined" in titles.retention_title(float("nan"), float("nan"), month)


def test_churn_trend_places_the_average_in_the_band():
    band = (0.02, 0.05)
    assert titles.churn_trend_title(pd.Series([0.01] * 6), band).endswith("inside the healthy range")
    assert titles.churn_trend_title(pd.Series([0.03] * 6), band).endswith("inside the 2%-5% watch band")
    assert titles.churn_trend_title(pd.Series([0.08] * 6), band).endswith("above the 5% alarm level")
    assert "over the last 2 months" in titles.churn_trend_title(pd.Series([0.01, 0.02]), band)


def test_engagement_title_never_claims_a_difference_that_is_not_there():
    assert titles.engagement_title(0.117, 0.029).startswith("Low-engagement accounts churn 4.0x")
    assert titles.engagement_title(0.02, 0.04).startswith("Highly engaged accounts churn 2.0x")
    assert titles.engagement_title(0.03, 0.03) == "Engagement does not change how often accounts churn"
    assert titles.engagement_title(0.05, 0.0).startswith("Highly engaged accounts did not churn")


def test_group_titles_name_the_right_group():
    assert titles.share_title(pd.Series({"SMB": 0.15, "Enterprise": 0.41, "Mid-Market": 0.44})) == \
        "Mid-Market brings 44% of MRR"
    assert titles.cac_title(pd.Series({"Events": 20_000.0, "Content": 4_000.0})) == \
        "Content wins customers most cheaply"
    curves = pd.DataFrame({"segment": ["SMB", "SMB", "Enterprise", "Enterprise"], "month": [0, 24, 0, 30],
                           "survival": [1.0, 0.5, 1.0, 0.4]})
    # Enterprise's 0.4 comes after month 24: at 24 months it still has all its customers
    assert titles.survival_title(curves).startswith("Enterprise customers last longest: 100%")
    same = curves.assign(survival=[1.0, 0.7, 0.701, 0.7])
    assert titles.survival_title(same).startswith("Every segment keeps about 70%")
    # one segment (a segment pack): no comparison with groups the chart does not show
    assert titles.survival_title(curves[curves["segment"] == "SMB"]) == \
        "SMB customers: 50% still pay after 24 months"
    assert titles.bounce_title(pd.Series([0.4, 0.45])) == "Every channel bounces below 50%"
    assert titles.bounce_title(pd.Series([0.6, 0.45])) == "1 channel bounces at 50% or more"
    assert titles.bounce_title(pd.Series([0.6, 0.55])) == "2 channels bounce at 50% or more"


def test_verdicts_on_undefined_figures_say_so():
    assert titles.ltv_cac_verdict(float("nan")) == "undefined"
    assert titles.ltv_cac_verdict(3.86) == "healthy (3:1 or better)"
    assert titles.ltv_cac_verdict(2.9) == "below the 3:1 target"
    assert titles.nps_title(float("nan"), float("nan"), 0, None) == "No survey wave has closed yet"
    assert titles.funnel_title(float("nan"), "May 2025") == "No leads were created in May 2025"
    assert titles.cycle_title(float("nan"), "May 2025") == "No deal was won in May 2025"


def test_cohort_title_weights_cohorts_by_size_and_waits_for_age():
    matrix = pd.DataFrame({"customers": [10, 30], 12: [0.5, 0.9]})
    assert titles.cohort_title("logo", matrix) == "Logo retention: 80% of customers still pay after 12 months"
    young = pd.DataFrame({"customers": [10], 12: [float("nan")]})
    assert titles.cohort_title("revenue", young) == "Revenue retention: no cohort is 12 months old yet"


def test_the_revenue_cohort_title_pools_mrr_not_customers():
    """Cohort A: 10 customers, $1,000 at age 0, 150 % at 12 months ($1,500); cohort B: 30 customers,
    $9,000, 100 % ($9,000). Together they keep $10,500 of $10,000 = 105 %, not the customer-weighted
    (10 x 150 % + 30 x 100 %) / 40 = 112.5 %."""
    index = pd.PeriodIndex(["2024-01", "2024-02"], freq="M", name="cohort")
    matrix = pd.DataFrame({"customers": [10, 30], 12: [1.5, 1.0]}, index=index)
    start = pd.Series([1000.0, 9000.0], index=index)
    assert titles.cohort_title("revenue", matrix, start_mrr=start) == \
        "Revenue retention: cohorts keep 105% of their MRR after 12 months"
    logos = pd.DataFrame({"customers": [10, 30], 12: [0.5, 0.9]}, index=index)  # by size: (5 + 27) / 40
    assert titles.cohort_title("logo", logos) == "Logo retention: 80% of customers still pay after 12 months"
    with pytest.raises(KpiError, match="MRR at age 0"):
        titles.cohort_title("revenue", matrix)


def test_each_cohorts_start_mrr_is_its_customers_mrr_in_their_first_paying_month():
    from kpilib.metrics.cohorts import cohort_start_mrr, revenue_retention

    months = pd.period_range("2024-01", "2024-04", freq="M")
    wide = pd.DataFrame([[100.0, 100.0, 150.0, 0.0],  # January cohort
                         [0.0, 40.0, 40.0, 80.0],     # February cohort
                         [0.0, 60.0, 0.0, 0.0],       # February cohort
                         [0.0, 0.0, 0.0, 0.0]],       # never paid: in no cohort
                        index=["a", "b", "c", "d"], columns=months)
    start = cohort_start_mrr(wide)
    assert start.to_dict() == {pd.Period("2024-01", "M"): 100.0, pd.Period("2024-02", "M"): 100.0}
    # the base revenue_retention divides by: February at age 1 keeps 40 of 100
    assert revenue_retention(wide).loc[pd.Period("2024-02", "M"), 1] == pytest.approx(0.4)
    assert cohort_start_mrr(wide.iloc[:0]).empty


def test_no_recent_cohort_is_said_with_the_window_and_its_last_month():
    from kpilib.i18n import using

    last = pd.Period("2025-11", "M")
    assert titles.no_cohorts_note(18, last) == ("No customer started paying in the 18 months up to November "
                                               "2025: there is no recent cohort to show.")
    with using("fr"):
        assert titles.no_cohorts_note(18, last) == ("Aucun client n'a commencé à payer au cours des 18 mois allant "
                                                   "jusqu'à novembre 2025 : aucune cohorte récente à afficher.")


def test_a_pair_of_values_never_prints_alike_when_they_differ():
    from kpilib.report.format import format_pair

    assert format_pair(0.032405, 0.032394, "pct") == ("3.241%", "3.239%")
    assert format_pair(986.05, 986.35, "money") == ("$986.05", "$986.35")
    assert format_pair(0.5, 0.5, "pct") == ("50.0%", "50.0%")
    assert format_pair(2.384, 2.386, "ratio") == ("2.38", "2.39")  # already apart: the usual format
    assert format_pair(2.3841, 2.3843, "ratio") == ("2.3841", "2.3843")
    assert format_pair(None, 0.25, "pct") == ("n/a", "25.0%")
    assert format_pair(1000.0, 1000.0, "money", "EUR") == ("€1,000", "€1,000")


def test_the_remaining_titles_flip_with_their_figures():
    assert titles.projection_title(0.452) == "The model projects 45% of a new cohort still paying after 36 months"
    assert titles.projection_title(float("nan")) == "Not enough cohort history to project survival"
    rates = pd.Series({"Referral": 0.031, "Paid Search": 0.012})
    assert titles.best_channel_title(rates) == "Referral converts leads to customers best (3.1%)"
    assert titles.best_channel_title(pd.Series({"Referral": 0.0})).startswith("No channel converted")
    assert titles.ces_title(5.63, 310, "Q4 2025") == "Customer effort: mean 5.6 of 7 from 310 answers (Q4 2025 wave)"
    # a year's figure is every answer of the year, not a wave
    assert titles.ces_title(5.63, 1210, "2025", year=True) == \
        "Customer effort: mean 5.6 of 7 from 1,210 answers in 2025"
    assert titles.nps_title(32.4, 4.2, 1288, "2025", year=True) == "NPS +32 ± 4 from every answer of 2025 (n = 1,288)"
    assert titles.nps_title(37.0, 4.4, 362, "Q4 2025") == "NPS +37 ± 4 in the Q4 2025 wave (n = 362)"
    assert titles.ces_title(float("nan"), 0) == "No effort answers in this wave"
    assert titles.return_title(pd.Series({"Events": 0.0, "Referral": 6.34})) == \
        "Referral brings the most new ARR per unit of spend (6.34)"
    returns = pd.Series({"Referral": 6.34, "Events": 0.5})  # a high return from a single deal says so
    assert titles.return_title(returns, pd.Series({"Referral": 1, "Events": 9})) == \
        "Referral brings the most new ARR per unit of spend (6.34, from 1 new customer)"
    assert titles.return_title(returns, pd.Series({"Referral": 1204, "Events": 9})) == \
        "Referral brings the most new ARR per unit of spend (6.34, from 1,204 new customers)"
    from kpilib.i18n import using

    with using("fr"):
        assert "4 nouveaux clients" in titles.return_title(returns, pd.Series({"Referral": 4}))
    assert titles.return_title(pd.Series(dtype=float)).startswith("No channel")
    grew = pd.Series([100_000.0, 120_000.0, 138_000.0])
    assert titles.trend_title(grew, "MRR", "EUR") == "MRR grew 38% over 2 months to €138K"
    assert titles.trend_title(grew[::-1].reset_index(drop=True), "MRR").startswith("MRR fell 28%")
    assert titles.trend_title(pd.Series([5.0]), "MRR") == "MRR over time"


def test_the_churn_verdict_judges_the_figure_it_prints():
    # 2.007 % prints as 2.0 %: the words must call it healthy (<= 2 %), not "inside the watch band"
    assert titles.churn_trend_title(pd.Series([0.02007] * 6), (0.02, 0.05)).endswith(
        "2.0% a month over the last 6 months, inside the healthy range")
    assert "inside the 3%-6% watch band" in titles.churn_trend_title(pd.Series([0.04] * 6), (0.03, 0.06))


def test_the_churn_trend_puts_each_month_under_its_own_name():
    """A month's point sits on its first day, where the date axis writes the month, and the axis ends
    with the data: no next-year tick after December."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from kpilib.report.charts import CHARTS
    from kpilib.report.model import KpiModel

    draw, size = CHARTS["churn_trend"]
    fig = plt.figure(figsize=size)
    try:
        assert draw(fig, KpiModel.load(None, "2025-12")) is None
        ax = fig.axes[0]
        days = [mdates.num2date(x).date() for x in ax.lines[0].get_xdata(orig=False)]
        assert all(d.day == 1 for d in days) and days[-1].isoformat() == "2025-12-01"
        fig.canvas.draw()
        assert mdates.num2date(ax.get_xlim()[1]).date().isoformat() < "2026-01-01"
        assert all(t.get_text() <= "2025-12" for t in ax.get_xticklabels())
    finally:
        plt.close(fig)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_chart_writes_tick_labels_above_its_axes_or_over_each_other(language):
    """The house style puts every title just above its axes (``axes.titley``), which holds only while no
    chart has tick labels at the top, where the title would cover them; and no two tick labels of an
    axis overlap, in English or in French, whose amounts are the longest (``200 k $US``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from kpilib.i18n import using
    from kpilib.report.charts import CHARTS
    from kpilib.report.model import KpiModel
    from kpilib.report.plotting import HOUSE_STYLE, use_house_style

    use_house_style()
    assert HOUSE_STYLE["axes.titley"] == 1.0
    with using(language):
        m = KpiModel.load(None, "2025-12", lang=language)
        for name, (draw, size) in CHARTS.items():
            fig = Figure(figsize=size)
            renderer = FigureCanvasAgg(fig).get_renderer()
            draw(fig, m)
            fig.draw_without_rendering()
            for ax in fig.axes:  # label2 is a tick's label at the top
                assert not any(tick.label2.get_visible() for tick in ax.xaxis.get_major_ticks()), name
                assert ax.xaxis.get_label_position() == "bottom", name
                for axis in (ax.xaxis, ax.yaxis):
                    boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels()
                             if t.get_visible() and t.get_text()]
                    for a, b in zip(boxes, boxes[1:]):
                        assert not a.overlaps(b), f"{name}: tick labels overlap in {language}"


@pytest.mark.parametrize(("name", "last"), [("mrr_trend", "2025-12"), ("forecast", "2026-12"),
                                           ("retention", "2025-12")])
def test_a_month_end_chart_labels_each_tick_with_the_month_it_ends(name, last):
    """MRR is a month-end figure: December's point sits at 31 December, where matplotlib's own date ticks
    wrote "2026-01". Each tick is now at a plotted month end and names that month; the last is there."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from kpilib.report.charts import CHARTS
    from kpilib.report.model import KpiModel

    draw, size = CHARTS[name]
    fig = plt.figure(figsize=size)
    try:
        assert draw(fig, KpiModel.load(None, "2025-12")) is None
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_xticklabels()]
        days = [mdates.num2date(x) for x in ax.get_xticks()]
        assert labels[-1] == last and 3 <= len(labels) <= 8
        assert all(label == f"{d:%Y-%m}" for label, d in zip(labels, days))  # a month's end is still that month
    finally:
        plt.close(fig)


def test_a_bridge_zoomed_in_on_its_movements_says_where_its_axis_starts():
    """The bridge's axis starts near the opening MRR so that the movements show; the opening and closing
    bars are then cut, which the axis label says (with the amount) and two slashes on the axis mark."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kpilib.report.charts import CHARTS
    from kpilib.report.model import KpiModel

    draw, size = CHARTS["bridge"]
    fig = plt.figure(figsize=size)
    try:
        draw(fig, KpiModel.load(None, "2025-12"))
        ax = fig.axes[0]
        low = ax.get_ylim()[0]
        assert low > 0 and ax.get_ylabel() == "MRR (USD), axis from $1.22M"
        assert abs(low - 1.22e6) < 5e3  # the label's amount is the axis' start, as shown
        slashes = [line for line in ax.lines if line.get_transform() == ax.transAxes]
        assert len(slashes) == 2
    finally:
        plt.close(fig)


def test_the_cohort_heatmap_writes_each_share_in_its_cell_and_leaves_unreached_ages_blank():
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from kpilib.i18n import using
    from kpilib.report.plotting import cohort_heatmap, use_house_style

    use_house_style()
    matrix = pd.DataFrame({"customers": [40, 10], 0: [1.0, 1.0], 1: [0.125, np.nan]},
                          index=pd.PeriodIndex(["2025-10", "2025-11"], freq="M"))
    for language, low, whole in (("en", "12%", "100%"), ("fr", "12\u00a0%", "100\u00a0%")):
        with using(language):
            fig, ax = plt.subplots()
            cohort_heatmap(ax, matrix, "t")
            cells = {(round(t.get_position()[0], 1), round(t.get_position()[1], 1)): t for t in ax.texts}
            # three shares, none for the age the November cohort has not reached; first cohort on top
            assert sorted(cells) == [(0.5, 0.5), (0.5, 1.5), (1.5, 0.5)]
            assert cells[(1.5, 0.5)].get_text() == low and cells[(0.5, 1.5)].get_text() == whole
            assert [t.get_text() for t in ax.get_yticklabels()] == ["2025-10", "2025-11"]
            assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]  # no "customers" column
            assert ax.get_ylim() == (2.0, 0.0)
            # white text on the darkest blue (100 %), dark text on the lightest (12.5 %)
            assert cells[(0.5, 0.5)].get_color() == "white"
            assert cells[(1.5, 0.5)].get_color() != "white"
            plt.close(fig)

def test_a_bridge_without_any_mrr_lies_on_a_zero_axis_without_a_warning():
    """Nobody has paid yet: every bar is zero; the axis runs from 0 to 1 (matplotlib would warn about an
    empty range and centre it on zero, showing negative money)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from kpilib.report.plotting import waterfall

    zero = pd.Series({"opening_mrr": 0.0, "new": 0.0, "expansion": 0.0, "reactivation": 0.0,
                      "contraction": 0.0, "churn": 0.0, "mrr": 0.0})
    fig, ax = plt.subplots()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            waterfall(ax, zero)
        assert ax.get_ylim() == (0.0, 1.0)
    finally:
        plt.close(fig)
