"""Several boards as one pool, on a real Home Assistant: three emulated boards against one.

    scripts/bench --pool            # board timing (~6 min): bench/results/pool-<date>.json
    scripts/bench --pool --quick    # fast emulator timing (what the test runs)

Measures (ours only; every request a new conversation through conversation/process):
  1. throughput: 30 mixed conversations at once on one board, then on three (goal ≥ 2.7×);
  2. two agents on two models alternating over three boards: loads during the run (goal 0);
  3. one of three boards killed mid-run: answered, spoken errors, lost and duplicated requests,
     and whether every request started after the kill was answered;
  4. a real HAProxy (maxconn 1 per board) in front of the three boards as one entry (≥ 2.5×).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from datetime import datetime
import json
from pathlib import Path
import shutil
import sys
import time
from typing import Any

import aiohttp

from bench_lib.timed import TimedTurn, converse
from demo_lib import haconfig, integration
from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.launch import HOST, start_emulator, start_hass
from demo_lib.procs import DemoError, ManagedProcess, stop_processes
from demo_lib.progress import Progress
from rkllama_emulator.balancer import HaproxyBalancer, find_haproxy

ROOT = Path(__file__).resolve().parents[2]
MODEL = "Qwen2.5-1.5B-Instruct"
MODEL_B = "Qwen2.5-3B"
# Mixed: the seed's short prompts (math, explanation, creative) and two more of each kind.
PROMPTS = (
    "What is 145 + 278?",
    "What is Python in one sentence?",
    "Write a haiku about AI.",
    "What is 12 + 30?",
    "What is the capital of France?",
)
CONVERSATIONS = 30
USER = ("Bench", "bench", "rkllm-bench")
GOALS = {"throughput": 2.7, "haproxy": 2.5}
RESIDENT_TIMEOUT = 120.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(prog="scripts/bench --pool", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fast emulator timing")
    parser.add_argument("--ha-port", type=int, default=8123)
    parser.add_argument(
        "--emulator-port", type=int, default=8080, help="first board's port (the others: +1, +2)"
    )
    parser.add_argument(
        "--emulator-ports",
        type=lambda text: [int(part) for part in text.split(",")],
        help="the three boards' ports, comma-separated (instead of --emulator-port)",
    )
    parser.add_argument("--proxy-port", type=int, default=8090, help="HAProxy's port")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--config-dir", type=Path, default=ROOT / ".cache" / "bench-pool")
    return parser.parse_args(argv)


class PoolBench:
    """One run of the pool measures."""

    def __init__(self, args: argparse.Namespace, progress: Progress) -> None:
        """Prepare; nothing starts before run()."""
        self.args = args
        self.progress = progress
        self.timing = "fast" if args.quick else "board"
        self.processes: list[ManagedProcess] = []
        self.boards: list[ManagedProcess] = []
        self.urls: list[str] = []
        self.root: Path = args.config_dir.resolve()
        self.results: dict[str, Any] = {"timing": self.timing, "conversations": CONVERSATIONS}

    async def run(self) -> dict[str, Any]:
        """Run every measure; return the results."""
        fresh_root(self.root, "scripts/bench --pool")
        async with aiohttp.ClientSession() as session:
            for index in range(3):
                await self._start_board(session, index)
            client, ws = await start_home(
                self.progress, self.processes, session, self.root, self.args.ha_port
            )
            try:
                await self._measures(session, client, ws)
            finally:
                await ws.close()
        return self.results

    async def _start_board(self, session: aiohttp.ClientSession, index: int) -> None:
        ports = self.args.emulator_ports or [self.args.emulator_port + i for i in range(3)]
        port = ports[index]
        url = await start_emulator(
            self.progress,
            self.processes,
            session,
            port=port,
            models_dir=self.root / f"models-{index}",
            log_path=self.root / f"board-{index}.log",
            options=["--timing", self.timing, "--no-prompt-cache"],
            what=f"board {index + 1}, {self.timing} timing",
            name=f"board {index + 1}",
        )
        process = self.processes[-1]
        if index < len(self.boards):
            self.boards[index], self.urls[index] = process, url
        else:
            self.boards.append(process)
            self.urls.append(url)

    async def _measures(
        self, session: aiohttp.ClientSession, client: HassClient, ws: HassWebSocket
    ) -> None:
        home = await integration.add_server(client, self.urls[0])
        subentry = await integration.add_agent(client, ws, home, MODEL, "Pool A", llm_hass_api=())
        agent_a = await conversation_entity(ws, subentry)
        await self._resident(session, [self.urls[0]], [MODEL])
        await converse(client, agent_a, PROMPTS[0])  # warm-up: tokenizer, parser

        one = await self._burst(client, [agent_a], "1 · one board")
        entries = [home]
        entries += [await integration.add_server(client, url) for url in self.urls[1:]]
        await self._resident(session, self.urls, [MODEL])
        three = await self._burst(client, [agent_a], "1 · three boards")
        self.results["throughput"] = {
            "one_board_seconds": one["seconds"],
            "three_boards_seconds": three["seconds"],
            "speedup": round(one["seconds"] / three["seconds"], 2),
            "answered": [one["answered"], three["answered"]],
            "per_board": three["per_board"],
        }

        subentry_b = await integration.add_agent(
            client, ws, home, MODEL_B, "Pool B", llm_hass_api=()
        )
        agent_b = await conversation_entity(ws, subentry_b)
        await self._resident(session, self.urls, [MODEL, MODEL_B])
        agent_a = await conversation_entity(ws, subentry)  # the entry reloaded with its new agent
        loads_before = await self._loads(session)
        two = await self._burst(client, [agent_a, agent_b], "2 · two models alternating")
        loads_after = await self._loads(session)
        self.results["two_models"] = {
            "answered": two["answered"],
            "seconds": two["seconds"],
            "loads_at_preload": loads_before,
            "loads_during_run": loads_after - loads_before,
        }

        self.results["kill"] = await self._kill_run(session, client, agent_a)
        await self._start_board(session, 2)  # the killed board comes back for the next measure
        await self._proxy_run(client, ws, entries, one["seconds"])

    async def _burst(self, client: HassClient, agents: list[str], what: str) -> dict[str, Any]:
        """Send CONVERSATIONS new conversations at once (alternating agents); time them all."""
        texts = [f"{PROMPTS[index % len(PROMPTS)]} ({index + 1})" for index in range(CONVERSATIONS)]
        before = await self._request_counts(client)
        async with self.progress.step(f"{what}: {CONVERSATIONS} conversations at once"):
            started = time.monotonic()
            turns = await asyncio.gather(
                *(converse(client, agents[i % len(agents)], t) for i, t in enumerate(texts))
            )
            seconds = time.monotonic() - started
        after = await self._request_counts(client)
        answered = sum(turn.ok and bool(turn.speech) for turn in turns)
        self.progress.note(f"{what}: {answered}/{CONVERSATIONS} answered in {seconds:.1f} s")
        return {
            "seconds": round(seconds, 2),
            "answered": answered,
            "per_board": [a - b for a, b in zip(after, before, strict=True)],
        }

    async def _kill_run(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str
    ) -> dict[str, Any]:
        """Start conversations one by one; kill board 3 after a third of them."""
        texts = [f"{PROMPTS[i % len(PROMPTS)]} (k{i + 1})" for i in range(CONVERSATIONS)]
        spacing = 0.1 if self.timing == "fast" else 0.5
        tasks: list[asyncio.Task[TimedTurn]] = []
        killed_at = 0.0
        async with self.progress.step("3 · board 3 killed mid-run"):
            for index, text in enumerate(texts):
                if index == CONVERSATIONS // 3:
                    self.boards[2].kill()
                    killed_at = time.time()
                tasks.append(asyncio.create_task(converse(client, agent, text)))
                await asyncio.sleep(spacing)
            turns = await asyncio.gather(*tasks)
        served: Counter[str] = Counter()
        for url in self.urls[:2]:
            async with session.get(f"{url}/_emulator/requests") as response:
                data = await response.json()
            for record in data["requests"]:
                if record.get("route") == "/api/chat" and record.get("done"):
                    last = record["messages"][-1]["content"].split("\n")[0]
                    if last in texts:
                        served[last] += 1
        after_kill = [turn for turn in turns if turn.started >= killed_at]
        spoken_errors = [turn for turn in turns if not turn.ok]
        result = {
            "conversations": CONVERSATIONS,
            "answered": sum(turn.ok for turn in turns),
            "spoken_errors": len(spoken_errors),
            "lost": sum(not turn.speech for turn in turns),
            "duplicated": sum(count - 1 for count in served.values() if count > 1),
            "started_after_kill": len(after_kill),
            "answered_after_kill": sum(turn.ok for turn in after_kill),
        }
        self.progress.note(f"3 · kill: {result}")
        return result

    async def _proxy_run(
        self,
        client: HassClient,
        ws: HassWebSocket,
        entries: list[str],
        one_board_seconds: float,
    ) -> None:
        if find_haproxy() is None:
            self.results["haproxy"] = {"skipped": "haproxy is not installed"}
            return
        for entry_id in entries:
            await client.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")
        boards = [url.removeprefix("http://") for url in self.urls]
        async with HaproxyBalancer(self.args.proxy_port, boards) as proxy:
            result = await integration.run_flow(
                client,
                "/api/config/config_entries/flow",
                {"handler": "rkllm", "show_advanced_options": False},
                {"url": proxy.url, "boards": 3},
                "adding HAProxy as one server",
            )
            entry_id = str(result["result"]["entry_id"])
            await integration.wait_entry_loaded(client, entry_id)
            subentry = await integration.add_agent(
                client, ws, entry_id, MODEL, "Proxy A", llm_hass_api=()
            )
            agent = await conversation_entity(ws, subentry)
            # A proxy cannot tell which board holds which model: the preload reached one
            # board, and a restarted board loads the model on its first request. Warm up.
            await asyncio.gather(*(converse(client, agent, PROMPTS[0]) for _ in range(6)))
            run = await self._burst(client, [agent], "4 · HAProxy in front of three boards")
        self.results["haproxy"] = {
            "seconds": run["seconds"],
            "answered": run["answered"],
            "speedup": round(one_board_seconds / run["seconds"], 2),
        }

    async def _resident(
        self, session: aiohttp.ClientSession, urls: list[str], models: list[str]
    ) -> None:
        """Wait until every board holds `models` (a kept model is preloaded on each)."""
        async with self.progress.step(f"waiting for {', '.join(models)} on {len(urls)} board(s)"):
            deadline = time.monotonic() + RESIDENT_TIMEOUT
            while True:
                missing = []
                for url in urls:
                    async with session.get(f"{url}/_emulator/requests?since=999999") as response:
                        resident = (await response.json())["resident"]
                    missing += [f"{url} {m}" for m in models if m not in resident]
                if not missing:
                    return
                if time.monotonic() > deadline:
                    raise DemoError(f"not resident: {missing}")
                await asyncio.sleep(0.5)

    async def _loads(self, session: aiohttp.ClientSession) -> int:
        total = 0
        for url in self.urls:
            async with session.get(f"{url}/_emulator/requests?since=999999") as response:
                total += len((await response.json())["loads"])
        return total

    async def _request_counts(self, client: HassClient) -> list[int]:
        counts = []
        for url in self.urls:
            async with client.session.get(f"{url}/_emulator/requests?since=999999") as response:
                counts.append(int((await response.json())["next"]))
        return counts


def fresh_root(root: Path, made_by: str) -> None:
    """Empty the work directory `root` (only one a benchmark made) and mark it as ours."""
    if root.exists():
        if any(root.iterdir()) and not (root / haconfig.MARKER).exists():
            raise DemoError(f"{root} was not made by this benchmark: refusing to delete")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / haconfig.MARKER).write_text(f"Made by {made_by}.\n")


async def start_home(
    progress: Progress,
    processes: list[ManagedProcess],
    session: aiohttp.ClientSession,
    root: Path,
    port: int,
) -> tuple[HassClient, HassWebSocket]:
    """Start Home Assistant with the integration in `root`/ha; return its clients."""
    config_dir = root / "ha"
    haconfig.write_config_dir(
        config_dir, port=port, integration_dir=ROOT / "custom_components/rkllm"
    )
    client = HassClient(f"http://{HOST}:{port}", session)
    _process, ws = await start_hass(progress, processes, client, config_dir, USER)
    return client, ws


def write_results(results: dict[str, Any], output_dir: Path, name: str) -> Path:
    """Write `results` as `name`-<date>.json in `output_dir`, print them; return the path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}-{datetime.now().astimezone().strftime('%Y-%m-%d-%H%M')}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nResults: {path}")
    return path


async def conversation_entity(ws: HassWebSocket, subentry_id: str) -> str:
    """Return the conversation entity of a subentry (waiting for it to appear)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in await integration.registry_entries(ws):
            if entry.get("config_subentry_id") == subentry_id and entry["entity_id"].startswith(
                "conversation."
            ):
                return str(entry["entity_id"])
        await asyncio.sleep(0.2)
    raise DemoError(f"no conversation entity for subentry {subentry_id}")


def goals(results: dict[str, Any]) -> dict[str, bool]:
    """Return which of the issue's goals the run met."""
    kill = results["kill"]
    met = {
        "throughput ≥ 2.7×": results["throughput"]["speedup"] >= GOALS["throughput"],
        "two models: 0 loads during the run": results["two_models"]["loads_during_run"] == 0,
        "kill: nothing lost or duplicated": kill["lost"] == 0 and kill["duplicated"] == 0,
        "kill: every request after the kill answered": kill["answered_after_kill"]
        == kill["started_after_kill"],
    }
    if "speedup" in results.get("haproxy", {}):
        met["HAProxy ≥ 2.5×"] = results["haproxy"]["speedup"] >= GOALS["haproxy"]
    return met


async def _main(args: argparse.Namespace) -> int:
    progress = Progress(label="bench --pool")
    bench = PoolBench(args, progress)
    try:
        results = await bench.run()
    except DemoError as err:
        print(f"scripts/bench --pool: error: {err}", file=sys.stderr)
        return 1
    finally:
        await stop_processes(bench.processes, progress)
    results["goals"] = goals(results)
    write_results(results, args.output_dir, "pool")
    return 0 if all(results["goals"].values()) or args.quick else 1


def main(argv: list[str] | None = None) -> int:
    """Run the pool benchmark and return its exit code."""
    return asyncio.run(_main(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
