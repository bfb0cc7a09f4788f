"""HDR latency histograms in microseconds, and their interoperable text form."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

# Microseconds from 1 µs to one hour at three significant digits (0.1 % resolution).
LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3


def new_histogram() -> HdrHistogram:
    """An empty latency histogram in microseconds."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record(histogram: HdrHistogram, seconds: float) -> None:
    """Record ``seconds`` as microseconds, clamped to the histogram's range."""
    histogram.record_value(min(HIGHEST_US, max(LOWEST_US, round(seconds * 1e6))))


def encode(histogram: HdrHistogram) -> str:
    """The histogram as an interoperable HdrHistogram V2 blob (base64 text)."""
    return histogram.encode().decode("ascii") if histogram.get_total_count() else ""


def decode(blob: str) -> HdrHistogram:
    """A histogram back from :func:`encode`."""
    return HdrHistogram.decode(blob) if blob else new_histogram()
