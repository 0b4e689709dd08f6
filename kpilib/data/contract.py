"""The data contract: which tables exist, their columns, types, keys and rules.

This module is the single source of truth. ``docs/data-contract.md`` embeds the
table produced by :func:`contract_markdown`, and a test keeps the two in step.
Loading and validation live in :mod:`kpilib.data.load`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "date", "month", "money", "count", "number", "enum"]

CURRENCY_PATTERN = r"^[A-Z]{3}$"
#: What a subscription's ``billing_interval`` means: the months one billed ``amount`` covers.
MONTHS_PER_INTERVAL = {"month": 1, "quarter": 3, "year": 12}
INTERVAL_OF_MONTHS = {months: name for name, months in MONTHS_PER_INTERVAL.items()}  # 12 -> "year"


#: Largest amount per row (1e12, a trillion in any currency). MRR is summed in integer
#: micro-units (int64): kpilib.metrics.mrr refuses books whose total MRR exceeds about 4.6e12 (2**62
#: micro-units), so a sum can never wrap around; real books are many orders of magnitude below.
MONEY_MAX = 1e12
COUNT_MAX = 1e12
NUMBER_MAX = 1e9  # exchange rates


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    kind: ColumnKind
    description: str
    nullable: bool = False
    optional: bool = False  # the column may be absent from the file
    values: tuple[str, ...] | None = None  # allowed values for enums
    min: float | None = None
    max: float | None = None
    pattern: str | None = None

    @property
    def upper(self) -> float | None:
        """The largest value a row may hold: ``max``, or the kit's bound for its kind.

        Every amount is bounded so that sums over any realistic number of rows stay exact
        in the kit's integer micro-units (see :data:`MONEY_MAX`).
        """
        if self.max is not None:
            return self.max
        return {"money": MONEY_MAX, "count": COUNT_MAX, "number": NUMBER_MAX}.get(self.kind)

    @property
    def type_name(self) -> str:
        return {
            "id": "string",
            "text": "string",
            "date": "date (YYYY-MM-DD)",
            "month": "month (YYYY-MM)",
            "money": "decimal",
            "count": "integer",
            "number": "decimal",
            "enum": "string: " + " | ".join(self.values or ()),
        }[self.kind]


@dataclass(frozen=True)
class Table:
    """One contract table: a file ``<name>.csv`` or ``<name>.parquet``."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> table

    def key_in(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The key columns among ``columns`` (an optional key column, such as ``fx_rates.month``,
        may be absent: the table is then keyed by the others)."""
        present = set(columns)
        return tuple(k for k in self.key if k in present)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _date(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, "date", description, nullable=nullable)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "One row per paying or formerly paying account.",
            (
                Column("customer_id", "id", "Account identifier."),
                Column("name", "text", "Account name (untrusted text, escaped in reports)."),
                Column("segment", "text", "Market segment, e.g. SMB, Mid-Market, Enterprise."),
                Column("region", "text", "Sales region, e.g. NA, EMEA, APAC."),
                Column("acquisition_channel", "text",
                       "Channel that sourced the account; matches leads/marketing_spend channels."),
                _date("created_at", "Date the account was created."),
            ),
            key=("customer_id",),
            required=True,
        ),
        Table(
            "subscriptions",
            "One row per subscription line. A plan change closes one row and opens another.",
            (
                Column("subscription_id", "id", "Subscription line identifier."),
                Column("customer_id", "id", "Owning account."),
                Column("plan", "text", "Plan name (untrusted text)."),
                _date("start_date", "First day the line is active (inclusive)."),
                _date("end_date", "First day the line is no longer active (exclusive); empty = open.",
                      nullable=True),
                Column("amount", "money",
                       "Recurring amount per billing interval, net of discounts, in `currency`.",
                       min=0),
                Column("billing_interval", "enum", "Length of one billing interval.",
                       values=tuple(MONTHS_PER_INTERVAL)),
                Column("currency", "text", "ISO 4217 code of `amount`.", pattern=CURRENCY_PATTERN),
                Column("term_months", "count", "Committed contract term in months (for TCV).",
                       nullable=True, optional=True, min=1),
                Column("setup_fee", "money", "One-off fee at signature, in `currency`.",
                       nullable=True, optional=True, min=0),
            ),
            key=("subscription_id",),
            required=True,
            foreign_keys={"customer_id": "customers"},
        ),
        Table(
            "fx_rates",
            "Currency conversion. Without `month`: one fixed rate per currency (constant currency). "
            "With `month`: dated rates, each applying from its month until the currency's next one "
            "(a month before a currency's first rate takes that first rate); MRR is then converted at "
            "each month's rate and currency moves are reported as FX impact. "
            "Optional when every amount is already in the base currency.",
            (
                Column("currency", "text", "ISO 4217 code.", pattern=CURRENCY_PATTERN),
                Column("rate_to_base", "number",
                       "Units of the pivot currency per 1 unit of `currency` "
                       "(the pivot currency has rate 1).", min=0),
                Column("month", "month", "Month the rate applies from (dated rates).", optional=True),
            ),
            key=("currency", "month"),
        ),
        Table(
            "leads",
            "One row per lead, with the date it reached each funnel stage (empty = not reached).",
            (
                Column("lead_id", "id", "Lead identifier."),
                _date("created_at", "Date the lead was created."),
                Column("channel", "text", "Acquisition channel."),
                Column("owner", "text", "Sales rep who owns the lead.", nullable=True),
                _date("mql_at", "Marketing-qualified.", nullable=True),
                _date("sql_at", "Sales-qualified.", nullable=True),
                _date("opportunity_at", "Became an opportunity.", nullable=True),
                _date("trial_started_at", "Trial started.", nullable=True),
                _date("activated_at", "Trial reached the activation milestone.", nullable=True),
                _date("closed_at", "Deal closed (won or lost).", nullable=True),
                Column("outcome", "enum", "Deal outcome; empty while open.",
                       nullable=True, values=("won", "lost")),
                Column("amount", "money",
                       "Annual contract value of the deal, in `currency`.",
                       nullable=True, min=0),
                Column("currency", "text", "ISO 4217 code of `amount` (default: the data currency).",
                       optional=True, nullable=True, pattern=CURRENCY_PATTERN),
                Column("customer_id", "id", "Account created from a won lead.", nullable=True),
                Column("segment", "text", "Segment the lead belongs to (optional): with it, a segment "
                       "pack's funnel and win rate are the segment's own.", optional=True, nullable=True),
            ),
            key=("lead_id",),
            foreign_keys={"customer_id": "customers"},
        ),
        Table(
            "web_traffic",
            "Daily website traffic per channel.",
            (
                _date("date", "Day."),
                Column("channel", "text", "Traffic channel."),
                Column("sessions", "count", "Sessions.", min=0),
                Column("unique_visitors", "count", "Distinct visitors that day.", min=0),
                Column("new_visitors", "count", "First-time visitors that day.", min=0),
                Column("bounced_sessions", "count", "Single-page sessions.", min=0),
            ),
            key=("date", "channel"),
        ),
        Table(
            "marketing_spend",
            "Monthly acquisition spend per channel.",
            (
                Column("month", "month", "Calendar month."),
                Column("channel", "text", "Channel the spend is attributed to."),
                Column("category", "enum", "Marketing or sales spend.",
                       values=("marketing", "sales")),
                Column("amount", "money", "Spend, in `currency`.", min=0),
                Column("currency", "text", "ISO 4217 code of `amount` (default: the data currency).",
                       optional=True, pattern=CURRENCY_PATTERN),
            ),
            key=("month", "channel", "category"),
        ),
        Table(
            "sales_activities",
            "Daily activity per sales rep.",
            (
                _date("date", "Day."),
                Column("owner", "text", "Sales rep; matches leads.owner."),
                Column("calls", "count", "Calls made.", min=0),
                Column("demos_booked", "count", "Demos booked.", min=0),
                Column("demos_held", "count", "Demos held.", min=0),
            ),
            key=("date", "owner"),
        ),
        Table(
            "survey_responses",
            "Survey answers: NPS and CES from customers, eNPS from employees.",
            (
                Column("response_id", "id", "Response identifier."),
                Column("survey", "enum", "Which survey.", values=("nps", "enps", "ces")),
                Column("respondent_id", "id",
                       "customer_id for nps and ces, an employee id for enps."),
                _date("responded_at", "Date of the answer."),
                Column("score", "count",
                       "0-10 for nps and enps, 1-7 for ces (7 = very easy).", min=0, max=10),
                Column("comment", "text", "Free text (untrusted, escaped in reports).",
                       nullable=True),
            ),
            key=("response_id",),
        ),
        Table(
            "product_usage",
            "Monthly product usage per account and event.",
            (
                Column("customer_id", "id", "Account."),
                Column("month", "month", "Calendar month."),
                Column("event", "text", "Event name, e.g. login, report_created."),
                Column("count", "count", "Number of events.", min=0),
            ),
            key=("customer_id", "month", "event"),
            foreign_keys={"customer_id": "customers"},
        ),
        Table(
            "financials",
            "Monthly profit and loss, in `currency`.",
            (
                Column("month", "month", "Calendar month."),
                Column("revenue", "money", "Recognised revenue.", min=0),
                Column("cogs", "money", "Cost of goods sold.", min=0),
                Column("operating_expenses", "money", "Operating expenses excluding COGS.", min=0),
                Column("currency", "text", "ISO 4217 code of the amounts (default: the data currency).",
                       optional=True, pattern=CURRENCY_PATTERN),
            ),
            key=("month",),
        ),
    )
}

# Rules across columns or tables, listed for the docs; enforced in kpilib.data.validation.
CROSS_RULES: tuple[tuple[str, str], ...] = (
    ("subscriptions", "end_date > start_date when end_date is set"),
    ("subscriptions", "every currency has a rate in fx_rates (or is the base currency)"),
    ("leads, marketing_spend, financials", "every currency has a rate in fx_rates; an amount without a "
     "`currency` is in the data currency: the one fx_rates currency whose rate is 1 in every row (without "
     "fx_rates, the base currency); with no or several such currencies it is refused"),
    ("leads", "outcome is set exactly when closed_at is set"),
    ("leads", "closed_at >= created_at"),
    ("leads", "every stage date (mql_at ... activated_at) >= created_at"),
    ("web_traffic", "bounced_sessions <= sessions"),
    ("survey_responses", "ces scores are 1-7"),
    ("all", "customer_id values resolve to customers.customer_id"),
)


def contract_markdown() -> str:
    """The contract as Markdown tables, one per table (embedded in the docs)."""
    out: list[str] = []
    for t in TABLES.values():
        status = "required" if t.required else "optional"
        out.append(f"### `{t.name}` ({status})\n")
        out.append(f"{t.description} Key: `{', '.join(t.key)}`.\n")
        out.append("| column | type | nullable | rule | meaning |")
        out.append("|---|---|---|---|---|")
        for c in t.columns:
            rule = []
            if c.min is not None:
                rule.append(f">= {c.min:g}")
            if c.upper is not None:
                rule.append(f"<= {c.upper:g}")
            if c.pattern:
                rule.append("3 capital letters")
            if c.name in t.foreign_keys:
                rule.append(f"in {t.foreign_keys[c.name]}")
            name = f"`{c.name}`" + (" (optional column)" if c.optional else "")
            out.append(
                f"| {name} | {c.type_name} | {'yes' if c.nullable else 'no'} | "
                f"{', '.join(rule) or '-'} | {c.description} |"
            )
        out.append("")
    out.append("### Rules across columns and tables\n")
    out.extend(f"- `{table}`: {rule}" for table, rule in CROSS_RULES)
    return "\n".join(out) + "\n"
