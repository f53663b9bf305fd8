"""The results: bench/results/<date>.md and .json, and the README's summary table."""

from __future__ import annotations

import copy
from dataclasses import asdict
from datetime import datetime
import json
from pathlib import Path
import statistics
import textwrap
from typing import Any

from bench_lib.figures import M1, M2, M3, M4, M5, M6, M7, M8, M10, MEASURES
from bench_lib.runner import Raw
from bench_lib.stats import NO_ANSWER, Figure, ratio_text
from demo_lib.bench import PROMPTS

README_HEADING = "## Benchmark"
README_BEFORE = "## Pointing at a real board"
README_INTRO = (
    "`scripts/bench` measures what users feel on an RK3588 — the wait for the first spoken "
    "word — and what makes it short, side by side with Home Assistant's own `ollama` "
    "integration on the same server, model and homes. It bootstraps like the demo, starts the "
    "bundled emulator with board timing (prefill 340 tokens/s, decode 7.8 tokens/s, one "
    "inference at a time, upstream's tools+stream hold-back on; or the real server in "
    "`RKLLM_SERVER_HOST` / `RKLLM_SERVER_PORT`) and one real Home Assistant per home (10, 53 "
    "and 200 entities; 119 with German names, aliases, areas and floors; 48 with Russian and 52 "
    "with Chinese ones, whose agents run in `ru` and `zh-CN`: `--homes 119,48,52` picks them), "
    "and writes "
    "`bench/results/<date>.md` and `.json`. Token counts are real Qwen tokens. It takes about "
    "half an hour; `scripts/bench --quick` (fast timing, one repetition, the 10-entity home) "
    "checks that every figure is measured (`tests/test_bench.py`); `--only SECTION,…` runs "
    "some sections only. Options: `scripts/bench --help`."
)

DEFINITIONS: dict[str, str] = {
    M10: (
        "A camera (Home Assistant's MJPEG integration, added through its config flow) shows a "
        "1280 × 720 frame served on 127.0.0.1; each side has an AI-task entity on "
        "Qwen2.5-VL-3B-Instruct (added through its subentry flow). `ai_task.generate_data` "
        "with the snapshot as attachment and a `structure` (parcel: boolean, colour: text), "
        "over `POST /api/services/…?return_response`, after one unrecorded round that loads "
        "the model. *Outside the server*: the action's time minus the server's own time for "
        "its requests (arrival to end: the encoder, the prefill with the image's tokens, the "
        "answer)."
    ),
    M1: (
        "The seed's five prompts, each in a new conversation, through each agent's own Assist "
        "pipeline over the websocket API (`assist_pipeline/run`, intent stage, text in, "
        "streaming on). *First text*: from sending the run command to the first "
        "`intent-progress` event with `chat_log_delta.content`; *end of answer*: to "
        "`intent-end`, both on the benchmark's clock. *After the server's first token*: first "
        "text minus the moment the server generated its first piece (the emulator's record, "
        "same machine, same clock). *First turn*: each agent's first turn after its set-up "
        "(`What is 145 + 278?`, the model already loaded): what Home Assistant and the "
        "integration do once, such as loading a tokenizer."
    ),
    M2: (
        "Prompt tokens of turn 1 and turn 2 of one conversation (`What is 145 + 278?`, then "
        "`What is 2 + 2?`), counted by the server. The shared prefix is the longest "
        "byte-identical common start of the two rendered prompts, counted the same way; the "
        "fixed part is everything before the first user message (system prompt, entity "
        "listing, tools). Context: turn-2 prompt plus its answer against rkllama's default "
        "`NUM_CTX` of 4,096. On the Russian and Chinese homes (pipelines in `ru` and `zh-CN`) "
        "also the first request's prompt tokens of a device command in the home's language."
    ),
    M3: (
        "`Turn on the kitchen light` through the pipeline, the light off before. *Light on*: "
        "from sending the text to the light's `last_changed`; *confirmation complete*: to "
        "`intent-end`; *first text of the confirmation*: the first text delta after the tool "
        "result. *LLM path*: a pipeline that sends every request to the agent. *Local-first*: "
        "a pipeline with Home Assistant's *prefer handling commands locally* on, so HA's own "
        "sentence matcher runs the command before any agent. *Prompt tokens of the command*: "
        "what the server counted (real Qwen tokens) for the first request of the turn."
    ),
    M4: (
        "The short prompts (Math, Explanation, Creative) through `conversation/process` "
        "(REST, one server request each), then the very same recorded requests sent again "
        "straight with each side's own client (ours: the integration's `RkllamaClient`; peer: "
        "the `ollama` library). *Server time*: from the request's arrival at the server to the "
        "end of its response (queue, prefill, decode and any hold-back included). *Added "
        "latency*: end-to-end time at the caller minus that server time: everything Home "
        "Assistant, the integration and the transport add before and after the server's work. "
        "*End-to-end tok/s ÷ server tok/s*: completion tokens over the end-to-end time divided "
        "by completion tokens over the server time (= server time ÷ end-to-end time). The "
        "Assist-pipeline row uses every measure-1 turn the same way."
    ),
    M5: (
        "Two agents of the same side on different models (Qwen2.5-1.5B-Instruct and "
        "Qwen2.5-3B; plain chat agents without an LLM API, so that prefill does not dominate) "
        "answer alternating requests through `conversation/process`, one after the other, all "
        "models unloaded before. Loads are counted by the server (attributed by the loading "
        "client), against a load-per-request policy (one load per request). *Upstream "
        "multi-model*: current rkllama keeps up to 9 models resident; *single-model*: the 2025 "
        "single-model servers, where a request for another model swaps it."
    ),
    M6: (
        "*Config flow*: the server's config flow until its entry is loaded. *Reload*: "
        "`POST /api/config/config_entries/entry/<id>/reload` until loaded again. *Blocking "
        "calls*: HA's own detector's reports in `home-assistant.log`, attributed by the "
        "integration named in them. *RSS*: the `hass` process's resident memory before the "
        "integration was added and after its agent's first turn."
    ),
    M8: (
        "Home Assistant is stopped and started again on the goal home's config dir, offline "
        "(`HF_HUB_OFFLINE=1`, no route out of 127.0.0.1), the models still loaded on the "
        "server. Each side's first pipeline turn (`What is 145 + 278?`) is compared with the "
        "same turn right after it: the first answer should not wait for anything the "
        "integration loads at start-up (a tokenizer, a download)."
    ),
    M7: (
        "Simultaneous `conversation/process` calls, one conversation each, one model on one "
        "server. *Answered*: a correct answer came back; *FIFO*: the server started them in "
        "the order they arrived; *queue wait*: the server's wait for the model before prefill."
    ),
}


def _number(value: float, unit: str) -> str:
    if unit == "1 = yes":
        return "yes" if value >= 1 else "no"
    if unit in {"tokens", "count", "loads"}:
        return f"{value:.0f}"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "×":
        return f"{value:.3f}"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:g} {unit}"


def _result(figure: Figure) -> str:
    passed = figure.passed
    if passed is None:
        return "info"
    return "✅ pass" if passed else "❌ fail"


def _cell(figure: Figure, side: str) -> str:
    value = figure.ours if side == "ours" else figure.peer
    summary = figure.ours_summary if side == "ours" else figure.peer_summary
    if value is None:
        why = figure.peer_failure if side == "peer" else ""
        return f"{NO_ANSWER} ({why})" if why else NO_ANSWER
    text = _number(value, figure.unit)
    if summary is not None and summary.n > 1 and figure.unit in {"s", "ms"}:
        low = _number(summary.min, figure.unit).removesuffix(f" {figure.unit}")
        text += f" ({low}–{_number(summary.max, figure.unit)})"
    return text


def figure_table(figures: list[Figure], *, with_measure: bool = False) -> str:
    """Return a Markdown table: figure · ours · peer · ratio · goal · result."""
    head = ["Figure", "Ours", "Peer", "Ratio", "Goal", "Result"]
    if with_measure:
        head.insert(0, "Measure")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for figure in figures:
        label = figure.label + (f" ({figure.note})" if figure.note else "")
        cells = [
            label,
            _cell(figure, "ours"),
            _cell(figure, "peer"),
            ratio_text(figure.ratio),
            figure.goal,
            _result(figure),
        ]
        if with_measure:
            cells.insert(0, figure.measure.split(" ", 1)[0].rstrip("."))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _prompt_table(raw: Raw, size: str) -> str:
    rows = raw.homes[size]["first_text"]
    lines = [
        "| Prompt | Ours first text | Peer first text | Ours end | Peer end |",
        "|---|---|---|---|---|",
    ]
    for test, _text in PROMPTS:

        def med(side: str, key: str, test: str = test) -> str:
            values = [r[key] for r in rows if r["side"] == side and r["test"] == test and key in r]
            return f"{statistics.median(values):.2f} s" if values else NO_ANSWER

        lines.append(
            f"| {test} | {med('ours', 'ttft')} | {med('peer', 'ttft')} | "
            f"{med('ours', 'end')} | {med('peer', 'end')} |"
        )
    return "\n".join(lines)


def _relevance_table(raw: Raw) -> str:
    lines = ["| Language | Sentences | Recall | Listed per sentence |", "|---|---|---|---|"]
    lines += [
        f"| {language} | {row['sentences']} | {100 * row['recall']:.1f} % | "
        f"{row['mean_listed']:.2f} |"
        for language, row in raw.relevance.items()
    ]
    return "\n".join(lines)


def summary_figures(figures: list[Figure]) -> list[Figure]:
    """Return the figures that have a goal."""
    return [figure for figure in figures if figure.check is not None]


def _header(raw: Raw, figures: list[Figure]) -> list[str]:
    meta = raw.meta
    plan = meta["plan"]
    goals = summary_figures(figures)
    passed = sum(1 for figure in goals if figure.passed)
    homes = ", ".join(raw.homes)
    repeated = f"measure 1 repeated {plan['repetitions']}× on the {plan['goal_home']}-entity home"
    if len(raw.homes) > 1:
        repeated += " and once on the others"
    return [
        (
            f"Run of {meta['started']} ({meta['seconds'] / 60:.1f} min): {meta['server']}; "
            f"model {meta['model']}; homes of {homes} entities exposed to Assist; {repeated}, "
            f"after a first turn each; goals met: {passed} of {len(goals)}."
        ),
        "",
        (
            "**Ours**: this integration (`rkllm`), Assist API, default options. **Peer**: Home "
            "Assistant's built-in `ollama` integration set up through its own config flow "
            "against the same server's Ollama-compatible API, same model, Assist API, default "
            f"options. Ratio = ours ÷ peer. Tokens: {meta['tokens']}."
        ),
    ]


def markdown(raw: Raw, figures: list[Figure], missing: list[str] | None = None) -> str:
    """Return the results document."""
    title = "quick check" if raw.meta["plan"]["timing"] == "fast" else "results"
    lines = [f"# Benchmark {title}: rkllm vs Home Assistant's ollama integration", ""]
    lines += _header(raw, figures)
    problems = [
        *raw.meta.get("errors", []),
        *(missing or []),
        *raw.meta.get("not_measured", []),
    ]
    if problems:
        lines += ["", "**Not measured:**", "", *(f"- {problem}" for problem in problems)]
    no_answer = [
        f"{size} entities, {what}"
        for size, home in raw.homes.items()
        for what in home.get("peer_no_answer", [])
    ]
    if no_answer:
        lines += [
            "",
            "**The peer could not answer** (its figures read “failed”; ours were measured):",
            "",
            *(f"- {item}" for item in no_answer),
        ]
    lines += [
        "",
        "## Summary (figures with a goal)",
        "",
        figure_table(summary_figures(figures), with_measure=True),
    ]
    for measure in MEASURES:
        chosen = [figure for figure in figures if figure.measure == measure]
        if not chosen:
            continue
        lines += ["", f"## {measure}", "", DEFINITIONS[measure], "", figure_table(chosen)]
        if measure == M2 and raw.relevance:
            lines += ["", "Relevance per language (sentences from HA's templates):", ""]
            lines.append(_relevance_table(raw))
        if measure == M1:
            goal_home = str(raw.meta["plan"]["goal_home"])
            lines += [
                "",
                f"Per prompt, {goal_home} entities (median of the repetitions):",
                "",
                _prompt_table(raw, goal_home),
            ]
    lines += [
        "",
        (
            "Values in brackets: min–max of the samples. The raw samples are in the JSON file "
            "beside this one."
        ),
        "",
    ]
    return "\n".join(lines)


def raw_json(raw: Raw) -> dict[str, Any]:
    """Return the raw data without the rendered prompts (kilobytes each)."""
    data = copy.deepcopy(asdict(raw))
    for home in data["homes"].values():
        for side in (home.get("prompt_size") or {}).values():
            if side:  # None: that side failed
                side.pop("turn1_prompt", None)
                side.pop("turn2_prompt", None)
    return data


def write(
    raw: Raw,
    figures: list[Figure],
    missing: list[str],
    out_dir: Path,
    stamp: str | None = None,
) -> Path:
    """Write <date>.json, then <date>.md into ``out_dir``; return the Markdown path.

    The JSON (the raw samples) is written first, so that a run's data survives whatever the
    rendering meets.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.now().astimezone().strftime("%Y-%m-%d")
    document = {
        "meta": raw.meta,
        "missing": missing,
        "figures": [figure.as_json() for figure in figures],
        "raw": raw_json(raw),
    }
    text = json.dumps(document, indent=1, ensure_ascii=False, default=str)
    (out_dir / f"{stamp}.json").write_text(text)
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(markdown(raw, figures, missing))
    return md_path


def _wrap(text: str) -> str:
    """Wrap a paragraph at the README's 100 columns (Markdown ignores the breaks)."""
    return textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False)


def update_readme(readme: Path, raw: Raw, figures: list[Figure], results: Path) -> None:
    """Replace (or add) the README's benchmark section with the latest summary table."""
    text = readme.read_text()
    section = "\n".join(
        [
            README_HEADING,
            "",
            _wrap(README_INTRO),
            "",
            "Latest summary ([full results](" + results.as_posix() + ")):",
            "",
            *(_wrap(paragraph) for paragraph in _header(raw, figures)),
            "",
            figure_table(summary_figures(figures), with_measure=True),
            "",
        ]
    )
    start = text.find(README_HEADING + "\n")
    if start != -1:
        end = text.find("\n## ", start + len(README_HEADING))
        end = len(text) if end == -1 else end + 1
        text = text[:start] + section + "\n" + text[end:]
    else:
        at = text.find(README_BEFORE)
        at = len(text) if at == -1 else at
        text = text[:at] + section + "\n" + text[at:]
    readme.write_text(text)
