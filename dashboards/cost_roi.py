"""Cost & ROI: what serving costs and saves against a hosted API (seed 000, dashboard 6).

Prices are numbers from the configuration, written into the queries: no dashboard text box can
break a query with a decimal comma. Amounts come from recorded hourly increases, so a panel over
30 days reads one sample an hour instead of evaluating raw 30-day windows at every step, and every
query with no traffic returns numbers (0), never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from observatory.config import CostPrices, ObservatoryConfig, PanelThresholds, number
from observatory.config.vocabulary import GPU_ENERGY_1H, SUCCESSES_1H, TOKENS_1H
from observatory.dashboards.model import Dashboard, Panel, PanelKind, QueryFormat, Row, Target, Threshold
from observatory.dashboards.panels import GREEN, RED, gauge, mean, percent, recorded, select, table_columns

HOURS_PER_MONTH = 30 * 24
JOULES_PER_KWH = 3_600_000
RANGE_SECONDS = "$__range_s"
# The default range: cost means something over weeks, and 30 days is a month of amortisation.
DEFAULT_RANGE = "30d"
PER_DAY = "€/day"


@dataclass(frozen=True)
class CostQueries:
    """Euros per hour at the given prices, each from a recorded trailing hour's amount.

    With no ``window`` an amount is the last hour's; with a window (``$__range``, ``$__interval``) it is the
    mean hour over that window, read from the recorded samples without any subquery.
    """

    prices: CostPrices
    # How far running totals reach back: the retention, so that the total at the range's start, shifted by the
    # retention, holds nothing Prometheus still keeps.
    reach: str
    window: str | None = None

    def over(self, window: str | None) -> CostQueries:
        """The same amounts as the mean hour over ``window``."""
        return replace(self, window=window)

    def _hourly(self, record: str) -> str:
        """A recorded hourly amount summed over the selected shards; 0, not absent, when none reports."""
        series = recorded(record)
        if self.window:
            series = f"avg_over_time({series}[{self.window}])"
        return f"(sum({series}) or vector(0))"

    @property
    def gpus(self) -> str:
        """How many GPUs the selected shards have (now)."""
        return f"(count({select('themis_gpu_info')}) or vector(0))"

    @property
    def queries(self) -> str:
        """Successful inference requests per hour."""
        return self._hourly(SUCCESSES_1H)

    @property
    def tokens(self) -> str:
        """Tokens processed per hour."""
        return self._hourly(TOKENS_1H)

    @property
    def api_value(self) -> str:
        """What an hour's successful queries would have cost on the hosted API."""
        return f"{self.queries} * {number(self.prices.api_price_per_query_eur)}"

    @property
    def electricity(self) -> str:
        """An hour's metered GPU energy, in euros."""
        kwh = f"{self._hourly(GPU_ENERGY_1H)} / {JOULES_PER_KWH}"
        return f"{kwh} * {number(self.prices.electricity_eur_per_kwh)}"

    @property
    def hardware(self) -> str:
        """An hour's share of the GPUs' monthly amortisation."""
        return f"{self.gpus} * {number(self.prices.gpu_cost_per_month_eur / HOURS_PER_MONTH)}"

    @property
    def own_cost(self) -> str:
        """What serving cost in an hour: electricity and amortisation."""
        return f"({self.electricity} + {self.hardware})"

    @property
    def operating_savings(self) -> str:
        """API value minus electricity: what pays the hardware back (amortisation is that hardware)."""
        return f"({self.api_value} - {self.electricity})"

    @property
    def net_savings(self) -> str:
        """API value minus every cost, amortisation included."""
        return f"({self.api_value} - {self.own_cost})"

    @property
    def purchase(self) -> str:
        """What the selected GPUs cost to buy."""
        return f"{self.gpus} * {number(self.prices.gpu_purchase_eur)}"

    def since_range_start(self, hourly: str) -> str:
        """Cumulative sum of an hourly amount from the start of the dashboard's range to each point.

        Sampled on the hour, trailing-hour amounts tile time without overlap. The running total over the
        retention at the range's start (``@ start()``, evaluated once) is subtracted from the one at each point:
        what the first counts beyond the second is older than anything kept, so the difference is the sum
        from the start to the point.
        """
        return f"sum_over_time(({hourly})[{self.reach}:1h]) - sum_over_time(({hourly})[{self.reach}:1h] @ start())"


def total(hourly: str) -> str:
    """An hourly amount averaged over the dashboard's range, as the total over the range."""
    return f"({hourly}) * {RANGE_SECONDS} / 3600"


def per_day(hourly: str) -> str:
    """An hourly amount as per day."""
    return f"({hourly}) * 24"


COST_MODEL_NOTE = (
    "Costs count GPU amortisation and metered GPU energy (themis_gpu_energy_joules_total, recorded hourly as "
    f"{GPU_ENERGY_1H}; themis_gpu_info for the number of GPUs) at the configured prices; queries are successful "
    f"inference requests ({SUCCESSES_1H})."
)


def _panels(q: CostQueries, p: PanelThresholds) -> tuple[Panel, ...]:
    prices = q.prices
    # Amounts as the mean hour of the range (totals) and of each point's interval (per day).
    in_range, per_step = q.over("$__range"), q.over("$__interval")
    model_latency = mean("themis_inference_latency_seconds", by=("model",), window="$__range")
    cost_per_gpu_second = f"{in_range.own_cost} / 3600 / ({q.gpus} > 0)"
    model_cost = f"{model_latency} * scalar({cost_per_gpu_second})"
    quality = gauge("themis_model_quality_ratio", 'benchmark="mmlu"', by=("model",), op="max")
    return (
        Panel(
            "Cost per 1M Tokens",
            PanelKind.STAT,
            f"What a million tokens (prompt and generated, {TOKENS_1H}) cost over the dashboard's range, beside the "
            f"API's price. {COST_MODEL_NOTE} Seed: €0.05 (RTX 4090) against €30 (GPT-4 API). Empty without tokens.",
            "currencyEUR",
            (
                Target(f"{in_range.own_cost} / ({in_range.tokens} > 0) * 1e6", "Themis", instant=True),
                Target(f"vector({number(prices.api_price_per_million_tokens_eur)})", "API", instant=True),
            ),
        ),
        Panel(
            "Queries Processed (Total)",
            PanelKind.STAT,
            f"Successful inference requests over the dashboard's range (hourly increases, {SUCCESSES_1H}), "
            "shown human-readable (K, M, B).",
            "short",
            (Target(total(in_range.queries), "queries", instant=True),),
        ),
        Panel(
            "Savings vs. GPT-4 (Daily)",
            PanelKind.TIMESERIES,
            "Euros saved per day: the API price of the successful queries minus GPU amortisation and electricity, "
            f"averaged over each point's interval (at least an hour). {COST_MODEL_NOTE}",
            "currencyEUR",
            (Target(per_day(per_step.net_savings), f"saved ({PER_DAY})"),),
            thresholds=(Threshold(RED), Threshold(GREEN, 0)),
            interval="1h",
            axis_label=PER_DAY,
        ),
        Panel(
            "GPU Utilization Rate",
            PanelKind.GAUGE,
            "Mean GPU utilisation of the selected shards (themis_gpu_utilization_ratio). Target: above "
            f"{percent(p.gpu_utilization_good_ratio)} (good ROI), above {percent(p.gpu_utilization_excellent_ratio)}"
            " (excellent).",
            "percentunit",
            (Target(gauge("themis_gpu_utilization_ratio", by=(), op="avg"), "GPU utilisation"),),
            thresholds=(
                Threshold(RED),
                Threshold(GREEN, p.gpu_utilization_good_ratio),
                Threshold("dark-green", p.gpu_utilization_excellent_ratio),
            ),
            min=0,
            max=1,
        ),
        Panel(
            "ROI Timeline (Break-Even Tracking)",
            PanelKind.TIMESERIES,
            "Savings accumulated from the start of the dashboard's range (API price of the successful queries "
            "minus electricity), against the purchase price of the selected GPUs (dashed): where the savings line "
            "crosses it, the hardware has paid for itself. Amortisation is not subtracted here, because the "
            f"purchase price it spreads over months is the line itself. {COST_MODEL_NOTE}",
            "currencyEUR",
            (
                Target(q.since_range_start(q.operating_savings), "savings since the range start"),
                Target(q.purchase, "GPU purchase price", reference=True),
            ),
            interval="1h",
        ),
        Panel(
            "Cost Efficiency by Model",
            PanelKind.TABLE,
            "Per model over the dashboard's range: mean latency (themis_inference_latency_seconds), cost per query "
            "(latency times the cost of a GPU-second), quality (themis_model_quality_ratio, MMLU) and ROI score "
            f"(quality / cost), sorted by ROI score. {COST_MODEL_NOTE}",
            "short",
            (
                Target(model_latency, "Avg Latency", instant=True, format=QueryFormat.TABLE, unit="s"),
                Target(model_cost, "Cost/Query", instant=True, format=QueryFormat.TABLE, unit="currencyEUR"),
                Target(quality, "Quality (MMLU)", instant=True, format=QueryFormat.TABLE, unit="percentunit"),
                Target(f"{quality} / (({model_cost}) > 0)", "ROI Score", instant=True, format=QueryFormat.TABLE),
            ),
            transformations=table_columns(
                {
                    "model": "Model Name",
                    "Value #A": "Avg Latency",
                    "Value #B": "Cost/Query",
                    "Value #C": "Quality (MMLU)",
                    "Value #D": "ROI Score",
                }
            ),
            sort_by="ROI Score",
            width=24,
        ),
        Panel(
            "Electricity Cost",
            PanelKind.TIMESERIES,
            "Euros per day of GPU electricity: at the current draw (themis_gpu_power_usage_watts) and as metered "
            f"(hourly energy, {GPU_ENERGY_1H}, averaged over each point's interval). Typical: an RTX 4090 at 450 W "
            "costs about €1.5 a day.",
            "currencyEUR",
            (
                Target(
                    f"{gauge('themis_gpu_power_usage_watts', by=())} * 24 / 1000"
                    f" * {number(prices.electricity_eur_per_kwh)}",
                    f"at current draw ({PER_DAY})",
                ),
                Target(per_day(per_step.electricity), f"metered ({PER_DAY})"),
            ),
            interval="1h",
            axis_label=PER_DAY,
        ),
        Panel(
            "ROI Summary",
            PanelKind.STAT,
            "Over the dashboard's range: total successful queries, what they cost here and would have cost on "
            "the API, the savings, days until the savings recover the GPUs' purchase price at the range's pace "
            "(empty while nothing is saved), and the ROI (savings / own cost). "
            f"{COST_MODEL_NOTE}",
            "currencyEUR",
            (
                Target(total(in_range.queries), "Total Queries", unit="short", instant=True),
                Target(total(in_range.own_cost), "Cost (ThemisDB)", instant=True),
                Target(total(in_range.api_value), "Cost (GPT-4 equivalent)", instant=True),
                Target(total(in_range.net_savings), "Total Savings", instant=True),
                Target(
                    f"{q.purchase} / (({per_day(in_range.operating_savings)}) > 0)",
                    "Days to Break-Even",
                    unit="d",
                    instant=True,
                ),
                Target(
                    f"{total(in_range.net_savings)} / ({total(in_range.own_cost)} > 0)",
                    "ROI",
                    unit="percentunit",
                    instant=True,
                ),
            ),
            width=24,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The Cost & ROI dashboard at the configured prices."""
    panels = _panels(CostQueries(config.costs, config.prometheus.retention), config.panels)
    return Dashboard(
        uid="themis-cost-roi",
        title="Themis Cost & ROI",
        description="Business metrics: cost per token and query, savings against a hosted API, break-even.",
        tags=("themis", "cost"),
        rows=(Row("Cost, savings and break-even", panels),),
        time_from=f"now-{DEFAULT_RANGE}",
    )
