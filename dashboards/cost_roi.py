"""Cost & ROI: what serving costs and saves against a hosted API (seed 000, dashboard 6).

Prices are parameters: they become dashboard variables (editable text boxes) that the
queries reference, so changing a price never means editing a query.
"""

from __future__ import annotations

from observatory.config import CostPrices, ObservatoryConfig
from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    QueryFormat,
    Target,
    TextVariable,
    Threshold,
)
from observatory.dashboards.panels import (
    GREEN,
    RANGE_WINDOW,
    RED,
    gauge,
    increase,
    mean,
    percent,
    rate,
    select,
    table_columns,
)

SECONDS_PER_DAY = 86_400
SECONDS_PER_MONTH = 30 * SECONDS_PER_DAY
JOULES_PER_KWH = 3_600_000
SUCCESS = 'status="success"'


def price_variables(prices: CostPrices) -> tuple[TextVariable, ...]:
    """The prices as dashboard variables, named as the queries reference them."""
    return (
        TextVariable(
            "gpu_cost_per_month",
            "GPU €/month",
            prices.gpu_cost_per_month_eur,
            "Hardware cost of one GPU per month (amortisation), in euros.",
        ),
        TextVariable(
            "electricity_price",
            "Electricity €/kWh",
            prices.electricity_eur_per_kwh,
            "Electricity price in euros per kilowatt-hour.",
        ),
        TextVariable(
            "api_price_per_query",
            "API €/query",
            prices.api_price_per_query_eur,
            "What one query costs on the hosted API compared with (GPT-4), in euros.",
        ),
        TextVariable(
            "api_price_per_million_tokens",
            "API €/1M tokens",
            prices.api_price_per_million_tokens_eur,
            "What a million tokens cost on the hosted API compared with (GPT-4), in euros.",
        ),
        TextVariable(
            "gpu_purchase_price",
            "GPU purchase €",
            prices.gpu_purchase_eur,
            "Purchase price of one GPU, which break-even recovers, in euros.",
        ),
    )


GPUS = f"count({select('themis_gpu_info')})"


def cost_per_second(window: str) -> str:
    """Euros per second the selected shards cost: GPU amortisation plus metered GPU energy."""
    hardware = f"$gpu_cost_per_month * {GPUS} / {SECONDS_PER_MONTH}"
    energy = f"{rate('themis_gpu_energy_joules_total', window=window)} / {JOULES_PER_KWH} * $electricity_price"
    return f"({hardware} + {energy})"


def queries_per_second(window: str) -> str:
    """Successful inference requests per second."""
    return rate("themis_inference_requests_total", SUCCESS, window=window)


def net_savings_per_second(window: str) -> str:
    """Euros per second saved against the API: its price for the same queries minus our cost."""
    return f"({queries_per_second(window)} * $api_price_per_query - {cost_per_second(window)})"


QUERIES_IN_RANGE = increase("themis_inference_requests_total", SUCCESS)
OWN_COST_IN_RANGE = f"{cost_per_second(RANGE_WINDOW)} / {queries_per_second(RANGE_WINDOW)} * {QUERIES_IN_RANGE}"
API_COST_IN_RANGE = f"{QUERIES_IN_RANGE} * $api_price_per_query"
TOKENS_PER_SECOND = (
    f"({rate('themis_generated_tokens_total', window=RANGE_WINDOW)}"
    f" + {rate('themis_prompt_tokens_total', window=RANGE_WINDOW)})"
)
MODEL_LATENCY = mean("themis_inference_latency_seconds", by=("model",), window=RANGE_WINDOW)
MODEL_COST_PER_QUERY = f"{MODEL_LATENCY} * scalar({cost_per_second(RANGE_WINDOW)} / {GPUS})"
MODEL_QUALITY = gauge("themis_model_quality_ratio", 'benchmark="mmlu"', by=("model",), op="max")
COST_MODEL_NOTE = (
    "Costs count GPU amortisation and GPU energy (themis_gpu_energy_joules_total, themis_gpu_info for the "
    "number of GPUs) at the prices in the dashboard variables."
)


def _panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        Panel(
            "Cost per 1M Tokens",
            PanelKind.STAT,
            "What a million tokens (prompt and generated: themis_prompt_tokens_total, themis_generated_tokens_total) "
            f"cost over the dashboard's range, beside the API's price. {COST_MODEL_NOTE} Seed: €0.05 (RTX 4090) "
            "against €30 (GPT-4 API).",
            "currencyEUR",
            (
                Target(f"{cost_per_second(RANGE_WINDOW)} / {TOKENS_PER_SECOND} * 1e6", "Themis", instant=True),
                Target("vector($api_price_per_million_tokens)", "API", instant=True),
            ),
        ),
        Panel(
            "Queries Processed (Total)",
            PanelKind.STAT,
            "Successful inference requests over the dashboard's range (increase of "
            "themis_inference_requests_total), shown human-readable (K, M, B).",
            "short",
            (Target(QUERIES_IN_RANGE, "queries", instant=True),),
        ),
        Panel(
            "Savings vs. GPT-4 (Daily)",
            PanelKind.TIMESERIES,
            "Euros saved per day: the API price of the day's successful queries minus GPU amortisation and "
            f"electricity, each point over the trailing 24 hours. {COST_MODEL_NOTE}",
            "currencyEUR",
            (Target(f"{net_savings_per_second('1d')} * {SECONDS_PER_DAY}", "saved per day"),),
            thresholds=(Threshold(RED), Threshold(GREEN, 0)),
        ),
        Panel(
            "GPU Utilization Rate",
            PanelKind.GAUGE,
            "Mean GPU utilisation of the selected shards (themis_gpu_utilization_ratio). Target: above"
            f" {percent(p.gpu_utilization_good_ratio)} (good ROI), above {percent(p.gpu_utilization_excellent_ratio)}"
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
            "Net savings over the trailing 30 days at each point, against the purchase price of the selected GPUs: "
            "where the savings line crosses the purchase line, 30 days of savings pay for the hardware. PromQL "
            f"cannot anchor a sum at a deployment date, so the window trails. {COST_MODEL_NOTE}",
            "currencyEUR",
            (
                Target(f"{net_savings_per_second('30d')} * {SECONDS_PER_MONTH}", "net savings, trailing 30 days"),
                Target(f"vector($gpu_purchase_price) * {GPUS}", "GPU purchase price"),
            ),
        ),
        Panel(
            "Cost Efficiency by Model",
            PanelKind.TABLE,
            "Per model over the dashboard's range: mean latency (themis_inference_latency_seconds), cost per query "
            "(latency times the cost of a GPU-second), quality (themis_model_quality_ratio, MMLU) and ROI score "
            f"(quality / cost), sorted by ROI score. {COST_MODEL_NOTE}",
            "short",
            (
                Target(MODEL_LATENCY, "Avg Latency", instant=True, format=QueryFormat.TABLE, unit="s"),
                Target(MODEL_COST_PER_QUERY, "Cost/Query", instant=True, format=QueryFormat.TABLE, unit="currencyEUR"),
                Target(MODEL_QUALITY, "Quality (MMLU)", instant=True, format=QueryFormat.TABLE, unit="percentunit"),
                Target(
                    f"{MODEL_QUALITY} / ({MODEL_COST_PER_QUERY})", "ROI Score", instant=True, format=QueryFormat.TABLE
                ),
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
            "over the trailing 24 hours (themis_gpu_energy_joules_total). Typical: an RTX 4090 at 450 W costs "
            "about €1.5 a day.",
            "currencyEUR",
            (
                Target(
                    f"{gauge('themis_gpu_power_usage_watts', by=())} * 24 / 1000 * $electricity_price",
                    "at current draw",
                ),
                Target(
                    f"{increase('themis_gpu_energy_joules_total', window='1d')} / {JOULES_PER_KWH}"
                    " * $electricity_price",
                    "metered, trailing 24 h",
                ),
            ),
        ),
        Panel(
            "ROI Summary",
            PanelKind.STAT,
            "Over the dashboard's range: total successful queries, what they cost here and would have cost on "
            "the API, the savings, days until the savings recover the GPUs' purchase price, and the ROI "
            f"(savings / own cost). {COST_MODEL_NOTE}",
            "currencyEUR",
            (
                Target(QUERIES_IN_RANGE, "Total Queries", unit="short", instant=True),
                Target(OWN_COST_IN_RANGE, "Cost (ThemisDB)", instant=True),
                Target(API_COST_IN_RANGE, "Cost (GPT-4 equivalent)", instant=True),
                Target(f"{API_COST_IN_RANGE} - {OWN_COST_IN_RANGE}", "Total Savings", instant=True),
                Target(
                    f"$gpu_purchase_price * {GPUS} / ({net_savings_per_second(RANGE_WINDOW)} * {SECONDS_PER_DAY})",
                    "Days to Break-Even",
                    unit="d",
                    instant=True,
                ),
                Target(
                    f"{net_savings_per_second(RANGE_WINDOW)} / {cost_per_second(RANGE_WINDOW)}",
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
    return Dashboard(
        uid="themis-cost-roi",
        title="Themis Cost & ROI",
        description="Business metrics: cost per token and query, savings against a hosted API, break-even.",
        tags=("themis", "cost"),
        panels=_panels(config),
        variables=price_variables(config.costs),
    )
