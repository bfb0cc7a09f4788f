"""House helpers: PromQL fragments, thresholds and panels built from catalogue entries.

Dashboard modules say *what* to show; these helpers keep the *how* (shard filter, rate
window, units and descriptions taken from the catalogue) the same on every dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from observatory.catalogue import CATALOGUE
from observatory.config import duration, number, seconds
from observatory.dashboards.model import Panel, PanelKind, QueryFormat, Target, Threshold, Transformation
from observatory.metric import Metric, MetricType, Unit

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"

# Catalogue units to Grafana unit ids; ratios are 0-1, which Grafana shows as percent.
GRAFANA_UNITS = {
    Unit.NONE: "short",
    Unit.SECONDS: "s",
    Unit.BYTES: "bytes",
    Unit.RATIO: "percentunit",
    Unit.CELSIUS: "celsius",
    Unit.JOULES: "joule",
    Unit.WATTS: "watt",
    Unit.HERTZ: "hertz",
    Unit.TOKENS: "short",
    Unit.VECTORS: "short",
}
# Units of per-second rates of a counter in each catalogue unit.
GRAFANA_RATE_UNITS = {Unit.BYTES: "Bps", Unit.TOKENS: "suffix: tok/s", Unit.JOULES: "watt", Unit.SECONDS: "percentunit"}

GREEN, YELLOW, RED, BLUE = "green", "yellow", "red", "blue"


def metric(name: str) -> Metric:
    """The catalogue entry a sample name belongs to (``x_bucket`` gives histogram ``x``); KeyError if none."""
    resolved = CATALOGUE.resolve_series(name)
    if resolved is None:
        raise KeyError(f"no catalogue metric exposes the series {name!r}")
    return resolved[0]


# Every selector filters on the cluster variable: all clusters (.*) unless the configuration names a cluster label.
CLUSTER = 'cluster=~"$cluster"'


def select(name: str, *matchers: str) -> str:
    """A selector for ``name`` in the chosen clusters, filtered by ``$shard`` where the metric has a shard label."""
    filters = [CLUSTER, *(['shard=~"$shard"'] if "shard" in metric(name).label_names else []), *matchers]
    return f"{name}{{{', '.join(filters)}}}"


def recorded(name: str, *matchers: str) -> str:
    """A selector for a recorded series (every one keeps ``shard``), filtered by the variables."""
    filters = [CLUSTER, 'shard=~"$shard"', *matchers]
    return f"{name}{{{', '.join(filters)}}}"


def _by(labels: Iterable[str]) -> str:
    # A grouping that keeps per-target labels keeps the cluster too, so that same-named shards of two chosen
    # clusters stay two series; without a cluster label (one Prometheus) it changes nothing. Buckets alone
    # (``le``) make a figure over every chosen cluster.
    labels = tuple(labels)
    if set(labels) - {"le", "cluster"}:
        labels = ("cluster", *labels)
    return f" by ({', '.join(labels)}) " if labels else ""


def rate(name: str, *matchers: str, by: Iterable[str] = (), window: str = RATE_WINDOW, fn: str = "rate") -> str:
    """``sum by (...) (rate(counter[window]))`` over the shards the dashboard selects."""
    kind = metric(name).type
    if kind is MetricType.GAUGE or (kind is MetricType.HISTOGRAM and name == metric(name).name):
        raise ValueError(f"{fn}() needs a counter or a histogram series, not {name}")
    return f"sum{_by(by)}({fn}({select(name, *matchers)}[{window}]))"


def increase(name: str, *matchers: str, by: Iterable[str] = (), window: str = RANGE_WINDOW) -> str:
    """``sum by (...) (increase(counter[window]))``; the default window is the dashboard's range."""
    return rate(name, *matchers, by=by, window=window, fn="increase")


def gauge(name: str, *matchers: str, by: Iterable[str] = ("shard",), op: str = "sum") -> str:
    """An aggregated gauge, e.g. ``sum by (shard) (x{shard=~"$shard"})``."""
    if metric(name).type is not MetricType.GAUGE:
        raise ValueError(f"{name} is not a gauge")
    return f"{op}{_by(by)}({select(name, *matchers)})"


def quantile(q: float, histogram: str, *matchers: str, by: Iterable[str] = ()) -> str:
    """``histogram_quantile`` over a histogram's buckets, keeping ``le`` and ``by``."""
    return f"histogram_quantile({q}, {rate(histogram + '_bucket', *matchers, by=('le', *by))})"


def mean(histogram: str, *matchers: str, by: Iterable[str] = (), window: str = RATE_WINDOW) -> str:
    """Mean observation of a histogram: rate of the sum over rate of the count; none (not NaN) when idle."""
    return (
        f"{rate(histogram + '_sum', *matchers, by=by, window=window)}"
        f" / ({rate(histogram + '_count', *matchers, by=by, window=window)} > 0)"
    )


def ratio(numerator: str, denominator: str, *matchers: str, by: Iterable[str] = ("shard",)) -> str:
    """The share of one counter's rate in another's (hits over lookups)."""
    return f"{rate(numerator, *matchers, by=by)} / {rate(denominator, *matchers, by=by)}"


def percent(ratio: float) -> str:
    """A 0-1 ratio as the percentage a description states (``80 %``, ``99.9 %``)."""
    return f"{number(ratio * 100)} %"


def rises_to(yellow: float, red: float) -> tuple[Threshold, ...]:
    """Green below ``yellow``, yellow from it, red from ``red`` (higher is worse)."""
    return (Threshold(GREEN), Threshold(YELLOW, yellow), Threshold(RED, red))


def falls_below(red: float, yellow: float) -> tuple[Threshold, ...]:
    """Red below ``red``, yellow below ``yellow``, green from ``yellow`` up (higher is better)."""
    return (Threshold(RED), Threshold(YELLOW, red), Threshold(GREEN, yellow))


def describe(name: str, note: str = "") -> str:
    """A panel description: the catalogue's help for ``name``, then what the panel adds."""
    return f"{metric(name).help} {note}".strip()


def unit_of(name: str, per_second: bool = False) -> str:
    """The Grafana unit of a catalogue metric, or of its per-second rate."""
    unit = metric(name).unit
    if per_second:
        return GRAFANA_RATE_UNITS.get(unit, "cps")
    return GRAFANA_UNITS[unit]


def metric_panel(
    title: str, kind: PanelKind, name: str, *targets: Target, note: str = "", per_second: bool = False, **options
) -> Panel:
    """A panel showing one catalogue metric, its description and unit taken from the catalogue."""
    options.setdefault("unit", unit_of(name, per_second))
    return Panel(title, kind, describe(name, note), targets=targets, **options)


def share_panel(title: str, counter: str, label: str, note: str) -> Panel:
    """A pie chart of how a counter's increase over the dashboard's range splits by ``label``."""
    # Instant: a pie shows one value per slice, so a range query would be evaluated at every step for nothing.
    target = Target(increase(counter, by=(label,)), "{{" + label + "}}", instant=True)
    return metric_panel(title, PanelKind.PIE_CHART, counter, target, note=note)


def bucket_distribution(title: str, histogram: str, note: str, **options) -> Panel:
    """How many observations fell in each bucket over the dashboard's range, as bars.

    Prometheus histograms are already bucketed, so the heatmap query format (which turns
    cumulative ``le`` buckets into per-bucket counts, ordered by bound) and a bar gauge show the
    distribution; Grafana's histogram panel would bucket raw values a second time. The legend is the
    bare bound, which Grafana orders numerically.
    """
    expr = increase(histogram + "_bucket", by=("le",))
    target = Target(expr, "{{le}}", instant=True, format=QueryFormat.HEATMAP)
    description = describe(
        histogram,
        f"Observations per bucket over the dashboard's range, each bar named by its upper bound (in "
        f"{metric(histogram).unit.value or 'units'}). {note} The seed names a histogram panel; Prometheus has "
        "already bucketed the observations, so a bar per bucket shows the distribution (Grafana's histogram "
        "panel would bucket the values a second time).",
    )
    return Panel(title, PanelKind.BAR_GAUGE, description, "short", (target,), **options)


def bucket_heatmap(title: str, histogram: str, note: str, scrape_interval: str, **options) -> Panel:
    """A heatmap over time of a histogram's per-bucket counts (y: bucket bound, colour: count).

    Each cell counts the observations of one step: the increase over ``$__interval``, which is the
    step, so windows never overlap and no observation is counted twice. The panel's minimum
    interval keeps a window at least two scrapes long, so that ``increase`` has two samples.
    """
    target = Target(
        increase(histogram + "_bucket", by=("le",), window="$__interval"), "{{le}}", format=QueryFormat.HEATMAP
    )
    options.setdefault("unit", GRAFANA_UNITS[metric(histogram).unit])
    options.setdefault("interval", duration(2 * seconds(scrape_interval)))
    return Panel(title, PanelKind.HEATMAP, describe(histogram, note), targets=(target,), **options)


def le_pattern(bound: float) -> str:
    """A regex for a bucket bound as any client writes it in ``le`` (Go and prometheus_client: 2.0, others: 2)."""
    return re.escape(number(bound)).replace("\\", "\\\\") + "(\\\\.0)?"


def share_below(histogram: str, bound: float, *matchers: str) -> str:
    """The share of a histogram's observations over the dashboard's range at or below ``bound``.

    No observations give no value rather than NaN (0/0).
    """
    le = f'le=~"{le_pattern(bound)}"'
    below = increase(histogram + "_bucket", le, *matchers)
    total = increase(histogram + "_count", *matchers)
    return f"{below} / ({total} > 0)"


def target_stat(title: str, histogram: str, bound: float, share: float, what: str, **options) -> Panel:
    """A stat of the share of observations under a seed target's bound: red below the share, green from it."""
    return Panel(
        title,
        PanelKind.STAT,
        f"Share of {what} at or below {number(bound)} {metric(histogram).unit.value} over the dashboard's range "
        f"({histogram}); the target is {number(share * 100)} %: red below it, green from it. Empty without "
        "observations.",
        "percentunit",
        (Target(share_below(histogram, bound), "under target", instant=True),),
        thresholds=(Threshold(RED), Threshold(GREEN, share)),
        min=0,
        max=1,
        **options,
    )


def matrix(rows: str, columns: str) -> tuple[Transformation, ...]:
    """Turns one instant table into a rows x columns matrix of its values."""
    return (
        Transformation(
            "groupingToMatrix",
            {"rowField": rows, "columnField": columns, "valueField": "Value", "emptyValue": "null"},
        ),
    )


def series_to_rows() -> tuple[Transformation, ...]:
    """One row per series with its last value, so a bar chart gets one bar per series."""
    return (Transformation("reduce", {"mode": "seriesToRows", "reducers": ["lastNotNull"]}),)


def table_columns(names: dict[str, str], hidden: Iterable[str] = ("Time",)) -> tuple[Transformation, ...]:
    """Merges instant table queries into one table and names its columns."""
    return (
        Transformation("merge"),
        Transformation(
            "organize",
            {"renameByName": dict(sorted(names.items())), "excludeByName": dict.fromkeys(sorted(hidden), True)},
        ),
    )


def rows_to_fields(name: str, value: str, maximum: str) -> tuple[Transformation, ...]:
    """One field per table row, named by column ``name`` and valued by ``value``, whose max is column ``maximum``.

    A gauge per row then scales to its own row's max (each shard's index against its own GPU memory).
    """
    mappings = [
        {"fieldName": name, "handlerKey": "field.name"},
        {"fieldName": value, "handlerKey": "field.value"},
        {"fieldName": maximum, "handlerKey": "max"},
    ]
    return (Transformation("rowsToFields", {"mappings": mappings}),)


def edges(expr_by_pair: str, source_label: str, target_label: str, source: str = "$1") -> str:
    """Relabels a per-pair series as a node graph edge: ``source``, ``target`` and an ``id``.

    With ``source`` set to a name and ``source_label`` empty, every edge starts at that node
    (the orchestrator).
    """
    source_regex = "(.*)" if source_label else ""
    relabelled = (
        f'label_replace(label_replace({expr_by_pair}, "source", "{source}", "{source_label}", "{source_regex}"),'
        f' "target", "$1", "{target_label}", "(.*)")'
    )
    return f'label_join({relabelled}, "id", "->", "source", "target")'
