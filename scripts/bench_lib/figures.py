"""From the raw measurements to the figures of the results table (ours · peer · ratio · goal)."""

from __future__ import annotations

from collections.abc import Callable
import statistics
from typing import Any

from bench_lib import vision
from bench_lib.runner import Raw
from bench_lib.stats import Figure, Summary, ours_at_least, ours_at_most, ratio_at_most
from demo_lib.bench import PROMPTS
from demo_lib.procs import DemoError

M1 = "1. First spoken text"
M2 = "2. Prompt size"
M3 = "3. Tool round trip"
M4 = "4. Overhead"
M5 = "5. Model residency"
M6 = "6. Cost to Home Assistant"
M7 = "7. Concurrency"
M8 = "8. Restart without internet"
M10 = vision.M10
MEASURES = (M1, M2, M3, M4, M5, M6, M7, M8, M10)
# The run's sections (runner.SECTIONS) each measure needs; a section left out is not "missing".
SECTIONS_OF = {
    M1: ("first-text",),
    M2: ("prompt-size",),
    M3: ("tool-round-trip",),
    M4: ("overhead",),
    M5: ("residency",),
    M6: ("reloads",),
    M7: ("concurrency",),
    M8: ("restart",),
    M10: ("vision",),
}
CONTEXT = 4096
FIRST_TEXT_GOAL = 1.8  # seconds, slowest prompt on the goal home
FIRST_TEXT_GOALS_BY_HOME = {"200": 2.2}  # seconds, slowest prompt on a larger home
LIGHT_ON_GOAL = 4.5  # seconds, LLM path, goal home
CONFIRMATION_GOAL = 5.0  # seconds, LLM path, goal home
LOCAL_LIGHT_GOAL = 0.5  # seconds, local-first pipeline
COMMAND_TOKENS_GOALS = {"53": 350, "200": 450}  # real prompt tokens of the light command
GERMAN_HOME = 119  # German names and aliases: must fit the context
RESTART_GOAL = 1.0  # seconds: first text after a restart minus a warm turn's
LAG_GOAL = 0.050  # seconds after the server's first token
TOKENS_RATIO_GOAL = 0.5
MEAN_LISTED_GOAL = 4.0  # entities listed per sentence from HA's templates
TOOL_RATIO_GOAL = 0.35
RATE_GOAL = 0.99
P50_GOAL = 0.003
P95_GOAL = 0.010


def _values(rows: list[dict[str, Any]], side: str, key: str) -> list[float]:
    return [float(row[key]) for row in rows if row["side"] == side and key in row]


def _summaries(
    rows: list[dict[str, Any]], key: str, scale: float = 1.0
) -> tuple[Summary, Summary | None]:
    """Summaries of ours and the peer (None: the peer never answered)."""
    ours = _values(rows, "ours", key)
    peer = _values(rows, "peer", key)
    if not ours:
        raise DemoError(f"no samples of {key}")
    peer_summary = Summary.of([v * scale for v in peer]) if peer else None
    return Summary.of([v * scale for v in ours]), peer_summary


def _median_figure(  # noqa: PLR0917 - a table row's fields, in order
    measure: str,
    key: str,
    label: str,
    unit: str,
    rows: list[dict[str, Any]],
    field: str,
    *,
    scale: float = 1.0,
    stat: Callable[[Summary], float] = lambda s: s.median,
    **extra: Any,
) -> Figure:
    ours, peer = _summaries(rows, field, scale)
    return Figure(
        measure,
        key,
        label,
        unit,
        stat(ours),
        stat(peer) if peer is not None else None,
        ours_summary=ours,
        peer_summary=peer,
        **extra,
    )


class Builder:
    """Builds the figures of one run."""

    def __init__(self, raw: Raw) -> None:
        """Read ``raw``."""
        self.raw = raw
        self.plan = raw.meta["plan"]
        self.goal_home = str(self.plan["goal_home"])
        self.figures: list[Figure] = []
        self.missing: list[str] = []
        """Figures that could not be computed (a measure failed), with the reason."""

    def add(self, figure: Figure) -> None:
        """Add one figure; a peer that failed gets the reason noted for its home."""
        if figure.peer is None and not figure.peer_failure:
            home = self.raw.homes.get(figure.key.rsplit(".", 1)[-1], {})
            figure.peer_failure = home.get("failed", {}).get("peer", "")
        self.figures.append(figure)

    def build(self) -> list[Figure]:
        """Return every figure that the measurements allow; note the others in ``missing``."""
        parts: tuple[tuple[str, Callable[[], None]], ...] = (
            (M1, self.first_text),
            (M2, self.prompt_size),
            (M2, self.relevance),
            (M3, self.tool_round_trip),
            (M4, self.overhead),
            (M5, self.residency),
            (M6, self.cost),
            (M7, self.concurrency),
        )
        only = self.plan.get("only")
        for measure, part in (*parts, (M8, self.restart), (M10, self.camera_image)):
            if only is not None and not any(s in only for s in SECTIONS_OF[measure]):
                continue
            try:
                part()
            except (KeyError, TypeError, ValueError, DemoError, statistics.StatisticsError) as err:
                self.missing.append(f"{measure}: not (fully) measured ({err!r})")
        return self.figures

    # -- 1 ---------------------------------------------------------------------------------

    def first_text(self) -> None:
        """Time to the first streamed text and to the end of the answer, per home."""
        for size, home in self.raw.homes.items():
            rows = home["first_text"]
            goal_home = size == self.goal_home
            limit = FIRST_TEXT_GOAL if goal_home else FIRST_TEXT_GOALS_BY_HOME.get(size)
            if limit is not None:
                worst = {side: _slowest_prompt(rows, side) for side in ("ours", "peer")}
                ours_worst = worst["ours"]
                if ours_worst is None:
                    raise DemoError(f"no first text of ours, {size} entities")
                self.add(
                    Figure(
                        M1,
                        f"first_text_slowest_prompt.{size}",
                        f"first text, slowest of the 5 prompts (median of reps), {size} entities",
                        "s",
                        ours_worst,
                        worst["peer"],
                        goal=f"ours ≤ {limit} s",
                        check=ours_at_most(limit),
                    )
                )
            self.add(
                _median_figure(
                    M1,
                    f"first_text.{size}",
                    f"first text, median, {size} entities",
                    "s",
                    rows,
                    "ttft",
                )
            )
            self.add(
                _median_figure(
                    M1,
                    f"answer_end.{size}",
                    f"end of answer, median, {size} entities",
                    "s",
                    rows,
                    "end",
                )
            )
            if goal_home:
                self.add(
                    _median_figure(
                        M1,
                        f"first_text_lag.{size}",
                        f"first text after the server's first token, median, {size} entities",
                        "ms",
                        rows,
                        "lag",
                        scale=1000,
                        goal=f"ours ≤ {LAG_GOAL * 1000:.0f} ms",
                        check=ours_at_most(LAG_GOAL * 1000),
                    )
                )
            cold = home["cold"]
            self.add(
                Figure(
                    M1,
                    f"first_turn_first_text.{size}",
                    f"first text of the agent's first turn, {size} entities",
                    "s",
                    cold["ours"]["ttft"],
                    cold["peer"]["ttft"] if cold["peer"] else None,
                )
            )

    # -- 2 ---------------------------------------------------------------------------------

    def prompt_size(self) -> None:
        """Prompt tokens of turn 1 and 2, the shared prefix, the fixed part, the context."""
        largest = max(self.raw.homes, key=int)
        for size, home in self.raw.homes.items():
            data = home["prompt_size"]
            ours, peer = data["ours"], data["peer"]

            def peer_value(key: str, peer: dict[str, Any] | None = peer) -> float | None:
                return None if peer is None else float(peer[key])

            for turn in ("turn1", "turn2"):
                self.add(
                    Figure(
                        M2,
                        f"{turn}_tokens.{size}",
                        f"prompt tokens, turn {turn[-1]}, {size} entities",
                        "tokens",
                        ours[f"{turn}_tokens"],
                        peer_value(f"{turn}_tokens"),
                        goal=f"≤ {TOKENS_RATIO_GOAL}× peer",
                        check=ratio_at_most(TOKENS_RATIO_GOAL),
                    )
                )
            peer_turn1 = peer["turn1_tokens"] if peer else "failed"
            self.add(
                Figure(
                    M2,
                    f"shared_prefix_tokens.{size}",
                    f"turn-2 tokens that are a byte-identical prefix of turn 1, {size} entities",
                    "tokens",
                    ours["prefix_tokens"],
                    peer_value("prefix_tokens"),
                    note=f"of {ours['turn1_tokens']} (ours) and {peer_turn1} (peer) turn-1 tokens",
                )
            )
            self.add(
                Figure(
                    M2,
                    f"fixed_part_shared.{size}",
                    f"whole fixed part (system prompt, tools) shared, {size} entities",
                    "1 = yes",
                    float(ours["fixed_shared"]),
                    peer_value("fixed_shared"),
                    goal="ours = 1",
                    check=ours_at_least(1),
                )
            )
            if command := home.get("command_tokens"):
                self.add(
                    Figure(
                        M2,
                        f"command_tokens.{size}",
                        f"prompt tokens of {command['text']!r} (first request), {size} entities",
                        "tokens",
                        float(command["ours"]),
                        None if command["peer"] is None else float(command["peer"]),
                        note="a device command in the home's language",
                    )
                )
            if size in {largest, str(GERMAN_HOME)}:
                needed = {
                    side: data[side]["turn2_tokens"] + data[side]["turn2_completion"]
                    if data[side]
                    else None
                    for side in ("ours", "peer")
                }
                self.add(
                    Figure(
                        M2,
                        f"context_needed.{size}",
                        f"turn 2 prompt + answer tokens, {size} entities (context {CONTEXT})",
                        "tokens",
                        float(needed["ours"] or 0),
                        needed["peer"],
                        goal=f"ours ≤ {CONTEXT}",
                        check=ours_at_most(CONTEXT),
                    )
                )

    def relevance(self) -> None:
        """Recall and entities listed on sentences from HA's templates, over all languages.

        The peer lists every exposed entity: it never misses and lists the whole home.
        """
        by_language = self.raw.relevance
        if not by_language:
            return
        complete = [lang for lang, row in by_language.items() if row["recall"] >= 1.0]
        lowest = min(by_language, key=lambda lang: by_language[lang]["recall"])
        sentences = sum(row["sentences"] for row in by_language.values())
        listed = sum(row["listed"] for row in by_language.values())
        home = max(row["home"] for row in by_language.values())
        below = sorted(set(by_language) - set(complete))
        self.add(
            Figure(
                M2,
                "relevance_complete",
                f"languages whose every sentence lists its devices, of {len(by_language)}",
                "languages",
                float(len(complete)),
                float(len(by_language)),
                goal="all",
                check=ours_at_least(len(by_language)),
                note=f"below: {', '.join(below)}" if below else "",
            )
        )
        self.add(
            Figure(
                M2,
                "relevance_lowest",
                f"lowest recall of a language ({lowest}), {sentences} sentences in all",
                "%",
                100 * by_language[lowest]["recall"],
                100.0,
            )
        )
        self.add(
            Figure(
                M2,
                "relevance_listed",
                f"entities listed per sentence, mean over all languages (homes of {home})",
                "entities",
                listed / sentences,
                float(home),
                goal=f"ours ≤ {MEAN_LISTED_GOAL}",
                check=ours_at_most(MEAN_LISTED_GOAL),
            )
        )

    # -- 3 ---------------------------------------------------------------------------------

    def tool_round_trip(self) -> None:
        """Light on, first confirmation text, confirmation done; local-first; command tokens."""
        for size, home in self.raw.homes.items():
            if "tool_round_trip" not in home:  # the German home: measures 1 and 2 only
                continue
            rows = home["tool_round_trip"]
            goal = size == self.goal_home

            def absolute(limit: float, goal: bool = goal) -> dict[str, Any]:
                return _at_most(limit, " s") if goal else {}

            self.add(
                _median_figure(
                    M3,
                    f"light_on.{size}",
                    f"kitchen light on, LLM path, median, {size} entities",
                    "s",
                    rows,
                    "light_on",
                    **absolute(LIGHT_ON_GOAL),
                )
            )
            self.add(
                _median_figure(
                    M3,
                    f"confirmation_end.{size}",
                    f"spoken confirmation complete, LLM path, median, {size} entities",
                    "s",
                    rows,
                    "end",
                    **absolute(CONFIRMATION_GOAL),
                )
            )
            self.add(
                _median_figure(
                    M3,
                    f"confirmation_first_text.{size}",
                    f"first text of the confirmation, median, {size} entities",
                    "s",
                    rows,
                    "first_confirmation",
                )
            )
            limit = COMMAND_TOKENS_GOALS.get(size)
            self.add(
                _median_figure(
                    M3,
                    f"command_prompt_tokens.{size}",
                    f"real prompt tokens of the command (first request), {size} entities",
                    "tokens",
                    rows,
                    "command_prompt_tokens",
                    **(_at_most(limit) if limit else {}),
                )
            )
            local = home.get("local_first") or []
            self.add(
                _median_figure(
                    M3,
                    f"local_light_on.{size}",
                    f"kitchen light on, local-first pipeline, median, {size} entities",
                    "s",
                    local,
                    "light_on",
                    **(_at_most(LOCAL_LIGHT_GOAL, " s") if goal else {}),
                )
            )

    # -- 4 ---------------------------------------------------------------------------------

    def overhead(self) -> None:
        """End-to-end vs server rate, and the latency Home Assistant adds."""
        home = self.raw.homes[self.goal_home]
        through, direct = home["through_ha"], home["direct"]
        for row in [*through, *direct]:
            row["rate_ratio"] = row["server_seconds"] / row["e2e"]
        self.add(
            _median_figure(
                M4,
                "rate_ratio",
                "end-to-end tok/s ÷ server tok/s through HA (conversation/process), median",
                "×",
                through,
                "rate_ratio",
                goal=f"ours ≥ {RATE_GOAL}",
                check=ours_at_least(RATE_GOAL),
            )
        )
        for stat, goal in (("p50", P50_GOAL), ("p95", P95_GOAL)):
            self.add(
                _median_figure(
                    M4,
                    f"added_latency_{stat}",
                    f"latency added by HA (conversation/process), {stat}",
                    "ms",
                    through,
                    "added_latency",
                    scale=1000,
                    stat=(lambda s: s.median) if stat == "p50" else (lambda s: s.p95),
                    goal=f"ours ≤ {goal * 1000:.0f} ms",
                    check=ours_at_most(goal * 1000),
                )
            )
        for part, what in (("before_server", "before"), ("after_server", "after")):
            self.add(
                _median_figure(
                    M4,
                    f"added_latency_{what}_server",
                    f"of which {what} the server's work, p50",
                    "ms",
                    through,
                    part,
                    scale=1000,
                )
            )
        self.add(
            _median_figure(
                M4,
                "direct_added_latency_p50",
                "latency added by the client alone (the same requests, no HA), p50",
                "ms",
                direct,
                "added_latency",
                scale=1000,
            )
        )
        self.add(
            _median_figure(
                M4,
                "direct_rate_ratio",
                "end-to-end tok/s ÷ server tok/s with the client alone, median",
                "×",
                direct,
                "rate_ratio",
            )
        )
        pipeline = [row for h in self.raw.homes.values() for row in h["first_text"]]
        self.add(
            _median_figure(
                M4,
                "pipeline_added_latency_p50",
                "latency added by HA through the Assist pipeline (measure-1 turns), p50",
                "ms",
                pipeline,
                "added_latency",
                scale=1000,
            )
        )

    # -- 5 ---------------------------------------------------------------------------------

    def residency(self) -> None:
        """Count loads and load time of two alternating agents, vs load-per-request."""
        data = self.raw.residency
        count = int(data["requests"])
        for flavour, name in (("multi", "upstream multi-model"), ("single", "single-model")):
            if flavour not in data:
                continue
            ours, peer = data[flavour]["ours"], data[flavour]["peer"]
            each = max(ours["load_seconds_each"], peer["load_seconds_each"])
            policy = f"load per request: {count} loads, {count * each:.0f} s"
            multi = flavour == "multi"
            self.add(
                Figure(
                    M5,
                    f"loads.{flavour}",
                    f"model loads, {count} alternating requests, {name} server",
                    "loads",
                    ours["loads"],
                    peer["loads"],
                    goal=f"ours < {count} (load per request)" if multi else "—",
                    check=ours_at_most(count - 1) if multi else None,
                    note=policy,
                )
            )
            self.add(
                Figure(
                    M5,
                    f"load_seconds.{flavour}",
                    f"total model load time, {name} server",
                    "s",
                    ours["load_seconds"],
                    peer["load_seconds"],
                    note=policy,
                )
            )

    # -- 6 ---------------------------------------------------------------------------------

    def cost(self) -> None:
        """Add set-up and reload time, blocking calls and memory."""
        homes = list(self.raw.homes.values())

        def median_of(getter: Callable[[dict[str, Any]], float]) -> float:
            return statistics.median(getter(home) for home in homes)

        self.add(
            Figure(
                M6,
                "config_flow_seconds",
                "add the server through the config flow until loaded, median of homes",
                "s",
                median_of(lambda h: h["setup_seconds"]["ours"]),
                median_of(lambda h: h["setup_seconds"]["peer"]),
            )
        )
        reloaded = [h for h in homes if "reload_seconds" in h]
        reloads_ours = [v for h in reloaded for v in h["reload_seconds"]["ours"]]
        reloads_peer = [v for h in reloaded for v in h["reload_seconds"]["peer"]]
        ours_s, peer_s = Summary.of(reloads_ours), Summary.of(reloads_peer)
        self.add(
            Figure(
                M6,
                "reload_seconds",
                "config-entry reload (unload + setup), median",
                "s",
                ours_s.median,
                peer_s.median,
                ours_summary=ours_s,
                peer_summary=peer_s,
            )
        )
        self.add(
            Figure(
                M6,
                "blocking_calls",
                "“Detected blocking call” reports in HA's log, all homes",
                "count",
                sum(h["blocking_calls"]["ours"] for h in homes),
                sum(h["blocking_calls"]["peer"] for h in homes),
                goal="ours = 0",
                check=ours_at_most(0),
            )
        )
        self.add(
            Figure(
                M6,
                "memory_mib",
                "RSS added to HA by the integration's set-up and first turn, median of homes",
                "MiB",
                median_of(lambda h: h["rss_mib"]["ours"] - h["rss_mib"]["before"]),
                median_of(lambda h: h["rss_mib"]["peer"] - h["rss_mib"]["ours"]),
                note=(
                    "ours: transformers imported; a tokenizer is loaded only when exact counts "
                    "matter (a prompt over half the window, or mostly non-ASCII text)"
                ),
            )
        )

    # -- 10 --------------------------------------------------------------------------------

    def camera_image(self) -> None:
        """One camera image through the AI task: the action's time and our own part of it."""
        for figure in vision.figures(self.raw.homes):
            self.add(figure)

    # -- 8 ---------------------------------------------------------------------------------

    def restart(self) -> None:
        """First answer after an HA restart without internet, against a warm answer."""
        homes = [(size, home) for size, home in self.raw.homes.items() if "restart" in home]
        if not homes:
            raise DemoError("no restart measured")
        for size, home in homes:
            data = home["restart"]

            def gap(side: str, data: dict[str, Any] = data) -> float | None:
                row = data.get(side)
                return None if row is None else row["first_ttft"] - row["warm_ttft"]

            ours = gap("ours")
            if ours is None:
                raise DemoError("ours did not answer after the restart")
            self.add(
                Figure(
                    M8,
                    f"restart_first_text_gap.{size}",
                    f"first text after an HA restart minus a warm turn's, {size} entities",
                    "s",
                    ours,
                    gap("peer"),
                    goal=f"ours ≤ {RESTART_GOAL} s",
                    check=ours_at_most(RESTART_GOAL),
                    note=(
                        f"first {data['ours']['first_ttft']:.2f} s, warm "
                        f"{data['ours']['warm_ttft']:.2f} s (ours)"
                    ),
                )
            )

    # -- 7 ---------------------------------------------------------------------------------

    def concurrency(self) -> None:
        """Simultaneous conversations."""
        data = self.raw.concurrency
        ours, peer = data["ours"], data["peer"]
        count = int(ours["conversations"])
        self.add(
            Figure(
                M7,
                "answered",
                f"conversations answered of {count} sent at once",
                "count",
                ours["answered"],
                peer["answered"],
                goal=f"ours = {count}",
                check=ours_at_least(count),
            )
        )
        self.add(
            Figure(
                M7,
                "fifo",
                "served in arrival order (FIFO)",
                "1 = yes",
                float(ours["fifo"]),
                float(peer["fifo"]),
                goal="ours = 1",
                check=ours_at_least(1),
            )
        )
        waits_o, waits_p = Summary.of(ours["queue_waits"]), Summary.of(peer["queue_waits"])
        self.add(
            Figure(
                M7,
                "queue_wait_max",
                "server queue wait, longest",
                "s",
                waits_o.max,
                waits_p.max,
                ours_summary=waits_o,
                peer_summary=waits_p,
            )
        )
        self.add(
            Figure(
                M7,
                "all_answered_seconds",
                "until all are answered",
                "s",
                ours["all_answered_seconds"],
                peer["all_answered_seconds"],
            )
        )


def build(raw: Raw) -> tuple[list[Figure], list[str]]:
    """Return the figures of a run and what could not be computed."""
    builder = Builder(raw)
    return builder.build(), builder.missing


def _slowest_prompt(rows: list[dict[str, Any]], side: str) -> float | None:
    """Return the slowest of the seed's prompts (median of its repetitions), None if unanswered."""
    medians = []
    for test, _text in PROMPTS:
        values = [
            float(r["ttft"])
            for r in rows
            if r["side"] == side and r["test"] == test and "ttft" in r
        ]
        if not values:
            return None
        medians.append(statistics.median(values))
    return max(medians)


def _at_most(limit: float, unit: str = "") -> dict[str, Any]:
    """Return the goal fields of a figure: ours ≤ ``limit``."""
    return {"goal": f"ours ≤ {limit:g}{unit}", "check": ours_at_most(limit)}
