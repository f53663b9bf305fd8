"""Summaries of repeated measurements and the figures of the results table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import math
import statistics
from typing import Any

type Ratio = float | str  # a number, "inf" (the peer's figure is 0, ours not), or NO_ANSWER
NO_ANSWER = "failed"  # the peer could not answer (e.g. its prompt overflows the context)
type Goal = Callable[[float, float | None, Ratio], bool]


@dataclass(frozen=True)
class Summary:
    """Min, median, max and 95th percentile of some samples."""

    n: int
    min: float
    median: float
    max: float
    p95: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Summarise ``values`` (at least one)."""
        if not values:
            raise ValueError("no samples")
        ordered = sorted(values)
        return cls(
            n=len(ordered),
            min=ordered[0],
            median=statistics.median(ordered),
            max=ordered[-1],
            p95=percentile(ordered, 95),
        )

    def as_json(self) -> dict[str, float]:
        """Return the summary as JSON data."""
        return {
            "n": self.n,
            "min": self.min,
            "median": self.median,
            "max": self.max,
            "p95": self.p95,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile (linear interpolation between closest ranks)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(ours: float, peer: float | None) -> Ratio:
    """Return ours ÷ peer; 1.0 when both are 0, "inf" when only the peer's is 0."""
    if peer is None:
        return NO_ANSWER
    if peer == 0:
        return 1.0 if ours == 0 else "inf"
    return ours / peer


def ratio_text(value: Ratio) -> str:
    """Format a ratio for the table."""
    if value == NO_ANSWER:
        return "—"
    if isinstance(value, str):
        return "∞"
    return f"{value:.2f}×" if value < 100 else f"{value:.0f}×"


@dataclass
class Figure:
    """One row of the results: ours, the peer, their ratio, the goal and whether it is met."""

    measure: str
    key: str
    label: str
    unit: str
    ours: float
    peer: float | None
    """None: the peer could not answer."""
    peer_failure: str = ""
    """Why the peer could not answer, e.g. `refused: prompt over the context (…)`."""
    goal: str = "—"
    check: Goal | None = field(default=None, repr=False)
    note: str = ""
    ours_summary: Summary | None = None
    peer_summary: Summary | None = None

    @property
    def ratio(self) -> Ratio:
        """Return ours ÷ peer."""
        return ratio(self.ours, self.peer)

    @property
    def passed(self) -> bool | None:
        """Return whether the goal is met (None: no goal, the figure is information)."""
        if self.check is None:
            return None
        return bool(self.check(self.ours, self.peer, self.ratio))

    def as_json(self) -> dict[str, Any]:
        """Return the figure as JSON data."""
        return {
            "measure": self.measure,
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "ours": self.ours,
            "peer": self.peer,
            "peer_failure": self.peer_failure if self.peer is None else None,
            "ratio": self.ratio,
            "goal": self.goal,
            "passed": self.passed,
            "note": self.note,
            "ours_summary": self.ours_summary.as_json() if self.ours_summary else None,
            "peer_summary": self.peer_summary.as_json() if self.peer_summary else None,
        }


def ratio_at_most(limit: float) -> Goal:
    """Return a goal: ours ÷ peer ≤ ``limit``."""
    return lambda _ours, _peer, value: not isinstance(value, str) and value <= limit


def ours_at_most(limit: float) -> Goal:
    """Return a goal: ours ≤ ``limit``."""
    return lambda ours, _peer, _ratio: ours <= limit


def ours_at_least(limit: float) -> Goal:
    """Return a goal: ours ≥ ``limit``."""
    return lambda ours, _peer, _ratio: ours >= limit
