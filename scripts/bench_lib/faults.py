"""A silent or down board on a real Home Assistant: the time to a spoken error or an answer.

    scripts/bench --faults            # board timing: bench/results/faults-<date>.json
    scripts/bench --faults --quick    # fast emulator timing (checks that the section runs)

Every question is a new conversation with a ~250-token prompt, the model resident, through
conversation/process; times are from sending the question to the end of the reply, and for an
answer from the second board also to the moment that board sent its first piece (the
emulator's record, same clock). Measures:
  1. a silent board alone (no headers; keep-alive bytes only; a port that never answers):
     the spoken sentence (goal ≤ 6 s);
  2. the same with a second board in the pool: the answer, from the second board (goal ≤ 8 s);
  3. a question while the only board is known down (it broke off an answer): spoken (≤ 1 s);
  4. a ~3,000-token prompt (what fits the window) on a board that must load its model first:
     answered, not cut.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
from typing import Any

import aiohttp

from bench_lib.pool import conversation_entity, fresh_root, start_home, write_results
from bench_lib.timed import TimedTurn, converse
from demo_lib import integration
from demo_lib.hass import HassClient
from demo_lib.launch import start_emulator
from demo_lib.procs import DemoError, ManagedProcess, stop_processes
from demo_lib.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
MODEL = "Qwen2.5-1.5B-Instruct"
USER = ("Bench", "bench", "rkllm-bench")
FILLER = "The quick brown fox jumps over the lazy dog. "
QUESTION = "Please read this note. " + FILLER * 22 + "What is 145 + 278?"
LONG_QUESTION = "Please read this note. " + FILLER * 280 + "What is 145 + 278?"
SILENT = ("hang", "keepalive_trickle", "silent_port")
GOALS = {"alone": 6.0, "failover": 8.0, "known_down": 1.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(prog="scripts/bench --faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fast emulator timing")
    parser.add_argument("--ha-port", type=int, default=8123)
    parser.add_argument(
        "--emulator-ports",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[8080, 8081],
        help="the two boards' ports, comma-separated",
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--config-dir", type=Path, default=ROOT / ".cache" / "bench-faults")
    return parser.parse_args(argv)


class FaultBench:
    """One run of the fault measures."""

    def __init__(self, args: argparse.Namespace, progress: Progress) -> None:
        """Prepare; nothing starts before run()."""
        self.args = args
        self.progress = progress
        self.timing = "fast" if args.quick else "board"
        self.processes: list[ManagedProcess] = []
        self.boards: list[ManagedProcess | None] = [None, None]
        self.urls = ["", ""]
        self.root: Path = args.config_dir.resolve()
        self.results: dict[str, Any] = {"timing": self.timing}
        self.held: set[str] = set()
        """Faults board 1 keeps until it restarts."""

    async def run(self) -> dict[str, Any]:
        """Run every measure; return the results."""
        fresh_root(self.root, "scripts/bench --faults")
        async with aiohttp.ClientSession() as session:
            for index in range(2):
                await self._start_board(session, index)
            client, ws = await start_home(
                self.progress, self.processes, session, self.root, self.args.ha_port
            )
            try:
                home = await integration.add_server(client, self.urls[0])
                subentry = await integration.add_agent(
                    client, ws, home, MODEL, "Faults", llm_hass_api=()
                )
                agent = await conversation_entity(ws, subentry)
                await self._measures(session, client, agent)
            finally:
                await ws.close()
        return self.results

    async def _start_board(self, session: aiohttp.ClientSession, index: int) -> None:
        self.urls[index] = await start_emulator(
            self.progress,
            self.processes,
            session,
            port=self.args.emulator_ports[index],
            models_dir=self.root / f"models-{index}",
            log_path=self.root / f"board-{index}-{len(self.processes)}.log",
            options=["--timing", self.timing],
            what=f"board {index + 1}, {self.timing} timing",
            name=f"board {index + 1}",
        )
        self.boards[index] = self.processes[-1]

    async def _measures(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str
    ) -> None:
        await self._answered(client, agent, "warm-up")  # measures the board's figures
        alone: dict[str, Any] = {}
        for fault in SILENT[:2]:
            alone[fault] = await self._silent(session, client, agent, fault)
        self.results["alone"] = alone
        second = await integration.add_server(client, self.urls[1])
        await self._answered(client, agent, "second board joined")
        failover: dict[str, Any] = {}
        for fault in SILENT:
            failover[fault] = await self._silent(session, client, agent, fault)
        self.results["failover"] = failover
        await client.request("DELETE", f"/api/config/config_entries/entry/{second}")
        alone["silent_port"] = await self._silent(session, client, agent, "silent_port")
        await self._restart_board(session, client, agent)
        self.results["known_down"] = await self._known_down(session, client, agent)
        await self._back(client, agent)
        self.results["slow_healthy"] = await self._slow_healthy(session, client, agent)

    async def _silent(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str, fault: str
    ) -> dict[str, Any]:
        """Ask while board 1 is silent; the port fault stays until the board restarts."""
        before = await self._chats(session, 1)
        if fault not in self.held:  # a silent port cannot be told anything more
            await self._fault(session, {"fault": fault, "delay": 0.05})
        if fault == "silent_port":
            self.held.add(fault)
        async with self.progress.step(f"a question while board 1 shows {fault}"):
            turn = await converse(client, agent, QUESTION)
        if fault != "silent_port":
            await self._post(session, 0, "/_emulator/clear", {})
        result = _turn(turn) | {"second_board_chats": await self._chats(session, 1) - before}
        if result["second_board_chats"]:
            first_sent = await self._last_first_sent(session, 1)
            if first_sent is not None:
                result["first_word_seconds"] = round(first_sent - turn.started, 2)
        self.progress.note(f"{fault}: {result}")
        return result

    async def _known_down(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str
    ) -> dict[str, Any]:
        """Board 1 breaks off an answer (known down): the next question is spoken at once."""
        await self._fault(session, {"fault": "drop_mid_stream", "times": 1})
        broken = await converse(client, agent, "Write a haiku about AI.")
        async with self.progress.step("a question while the only board is known down"):
            turn = await converse(client, agent, QUESTION)
        result = {"broken_off": _turn(broken), "question": _turn(turn)}
        self.progress.note(f"known down: {result}")
        return result

    async def _slow_healthy(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str
    ) -> dict[str, Any]:
        """Ask a long question on board 1 after its model was unloaded: answered, not cut."""
        await self._post(session, 0, "/unload_model", {"model_name": MODEL})
        await asyncio.sleep(1.0)
        async with self.progress.step("a long prompt on a board that must load its model"):
            turn = await converse(client, agent, LONG_QUESTION)
        async with session.get(f"{self.urls[0]}/_emulator/requests") as response:
            data = await response.json()
        chats = [r for r in data["requests"] if r.get("route") == "/api/chat"]
        result = _turn(turn) | {"prompt_tokens": chats[-1].get("prompt_tokens") if chats else None}
        self.progress.note(f"slow but healthy: {result}")
        return result

    async def _restart_board(
        self, session: aiohttp.ClientSession, client: HassClient, agent: str
    ) -> None:
        """Kill board 1 (its port silent) and start it again; wait until it answers."""
        board = self.boards[0]
        if board is not None:
            await board.stop()
        await self._start_board(session, 0)
        self.held.clear()
        await self._back(client, agent)

    async def _back(self, client: HassClient, agent: str) -> None:
        """Wait until board 1 answers again (its next good poll brings it back)."""
        async with self.progress.step("board 1 back in the pool"):
            for _ in range(120):
                if (await converse(client, agent, "What is 1 + 2?")).ok:
                    return
                await asyncio.sleep(1.0)
        raise DemoError("board 1 did not come back")

    async def _answered(self, client: HassClient, agent: str, what: str) -> None:
        turn = await converse(client, agent, QUESTION)
        if not turn.ok:
            raise DemoError(f"{what}: not answered: {turn.speech}")

    async def _fault(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        await self._post(session, 0, "/_emulator/fault", body)

    async def _post(
        self, session: aiohttp.ClientSession, board: int, path: str, body: dict[str, Any]
    ) -> None:
        async with session.post(f"{self.urls[board]}{path}", json=body) as response:
            if response.status >= 400:
                raise DemoError(f"{path} on board {board + 1}: HTTP {response.status}")

    async def _chats(self, session: aiohttp.ClientSession, board: int) -> int:
        return len(await self._chat_records(session, board))

    async def _last_first_sent(self, session: aiohttp.ClientSession, board: int) -> float | None:
        """Return when the board sent the first piece of its last answer (wall clock)."""
        records = await self._chat_records(session, board)
        first_sent = records[-1].get("first_sent_at") if records else None
        return float(first_sent) if first_sent is not None else None

    async def _chat_records(
        self, session: aiohttp.ClientSession, board: int
    ) -> list[dict[str, Any]]:
        async with session.get(f"{self.urls[board]}/_emulator/requests") as response:
            data = await response.json()
        return [r for r in data["requests"] if r.get("route") == "/api/chat"]


def _turn(turn: TimedTurn) -> dict[str, Any]:
    return {"seconds": round(turn.seconds, 2), "answered": turn.ok, "speech": turn.speech}


def goals(results: dict[str, Any]) -> dict[str, bool]:
    """Return which of the issue's goals the run met (judged on board timing)."""
    alone = results["alone"].values()
    failover = results["failover"].values()
    return {
        "silent board alone: spoken ≤ 6 s": all(
            not r["answered"] and r["seconds"] <= GOALS["alone"] for r in alone
        ),
        "silent board, second board: its first word ≤ 8 s": all(
            r["answered"]
            and r["second_board_chats"] == 1
            and r.get("first_word_seconds", r["seconds"]) <= GOALS["failover"]
            for r in failover
        ),
        "known down: spoken ≤ 1 s": not results["known_down"]["question"]["answered"]
        and results["known_down"]["question"]["seconds"] <= GOALS["known_down"],
        "slow but healthy long prompt answered": results["slow_healthy"]["answered"],
    }


async def _main(args: argparse.Namespace) -> int:
    progress = Progress(label="bench --faults")
    bench = FaultBench(args, progress)
    try:
        results = await bench.run()
    except DemoError as err:
        print(f"scripts/bench --faults: error: {err}", file=sys.stderr)
        return 1
    finally:
        await stop_processes(bench.processes, progress)
    results["goals"] = goals(results)
    write_results(results, args.output_dir, "faults")
    return 0 if all(results["goals"].values()) or args.quick else 1


def main(argv: list[str] | None = None) -> int:
    """Run the fault benchmark and return its exit code."""
    return asyncio.run(_main(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
