"""scripts/demo: a real Home Assistant with the rkllm integration, end to end, on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
import time

import aiohttp

from demo_lib import assist, bench, haconfig, integration
from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.launch import HOST, server_from_env, start_emulator, start_hass, wait_for_server
from demo_lib.procs import (
    DemoError,
    ManagedProcess,
    cancel_on_signals,
    check_ports,
    kill_processes,
    stop_processes,
)
from demo_lib.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
MODEL = "Qwen2.5-1.5B-Instruct"
AGENT_NAME = "Qwen2.5 assistant"
PIPELINE_NAME = "rkllm demo"
USER = ("Demo", "demo", "rkllm-demo")  # name, username, password: loopback-only throwaway instance
LIGHT_PROMPT = "Turn on the kitchen light"
LIGHT_ENTITY = "light.kitchen_light"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description=(
            "Run a real Home Assistant with the rkllm integration against the bundled rkllama "
            "emulator (or the server in RKLLM_SERVER_HOST/RKLLM_SERVER_PORT), run the seed's "
            "benchmark through the conversation agent, then turn on a light through a tool call."
        ),
    )
    parser.add_argument("--once", action="store_true", help="exit after the table (CI, tests)")
    parser.add_argument(
        "--fast", action="store_true", help="fast emulator timing instead of board-like timing"
    )
    parser.add_argument("--ha-port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument("--emulator-port", type=int, default=8080, help="the emulator's port")
    parser.add_argument(
        "--screenshots", type=Path, metavar="DIR", help="save PNGs of the device page and Assist"
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=ROOT / ".cache" / "demo-config",
        help="Home Assistant config dir, recreated on every run (default .cache/demo-config)",
    )
    return parser.parse_args(argv)


class Demo:
    """One run of the demo: the processes it started, the clients, the steps."""

    def __init__(self, args: argparse.Namespace, progress: Progress) -> None:
        """Prepare a run; nothing starts before run()."""
        self.args = args
        self.progress = progress
        self.config_dir: Path = args.config_dir.resolve()
        self.base_url = f"http://{HOST}:{args.ha_port}"
        self.remote_url = server_from_env()
        self.processes: list[ManagedProcess] = []

    async def stop_processes(self) -> None:
        """Stop what this run started, newest first: Home Assistant, then the emulator."""
        await stop_processes(self.processes, self.progress)

    def kill_processes(self) -> None:
        """Kill what this run started at once (a second Ctrl-C)."""
        kill_processes(self.processes)

    async def start_emulator(self, session: aiohttp.ClientSession) -> str:
        """Start the bundled emulator with the seed's models; return its URL."""
        timing = "fast" if self.args.fast else "board"
        return await start_emulator(
            self.progress,
            self.processes,
            session,
            port=self.args.emulator_port,
            models_dir=self.config_dir / "rkllama-models",
            log_path=self.config_dir / "emulator.log",
            options=["--timing", timing],
            what=f"{timing} timing",
        )

    async def start_hass(self, client: HassClient) -> HassWebSocket:
        """Start Home Assistant on the fresh config dir, onboard the demo user; return a ws."""
        _process, ws = await start_hass(
            self.progress, self.processes, client, self.config_dir, USER
        )
        return ws

    async def setup_agent(
        self, client: HassClient, ws: HassWebSocket, server_url: str
    ) -> integration.DemoAgent:
        """Add the server and the agent through the real flows; expose entities; make a pipeline."""
        async with self.progress.step(f"adding the rkllama server {server_url} (config flow)"):
            entry_id = await integration.add_server(client, server_url)
        async with self.progress.step(f"adding a {MODEL} conversation agent (subentry flow)"):
            subentry_id = await integration.add_agent(client, ws, entry_id, MODEL, AGENT_NAME)
            agent_id, sensors, device_id = await integration.find_agent_entities(
                client, ws, entry_id, subentry_id
            )
        async with self.progress.step("exposing the demo lights and switch, Assist pipeline"):
            entity_ids = haconfig.demo_entity_ids()
            await integration.expose(ws, entity_ids)
            await integration.place_in_areas(ws, haconfig.demo_areas())
            for entity_id in entity_ids:
                domain = entity_id.split(".")[0]
                await client.request(
                    "POST", f"/api/services/{domain}/turn_off", json={"entity_id": entity_id}
                )
            model_pipeline_id = await integration.create_pipeline(
                ws,
                agent_id,
                f"{PIPELINE_NAME} (model only)",
                prefer_local_intents=False,
                preferred=False,
            )
            pipeline_id = await integration.create_pipeline(ws, agent_id, PIPELINE_NAME)
        device_prefix = sensors["tokens_per_second"].removesuffix("tokens_per_second")
        self.progress.note(f"agent {agent_id}; sensors {device_prefix}*")
        return integration.DemoAgent(
            entry_id, subentry_id, agent_id, device_id, sensors, pipeline_id, model_pipeline_id
        )

    async def benchmark(self, client: HassClient, agent: integration.DemoAgent) -> str:
        """Run the seed's five prompts; return the table."""
        rows: list[bench.BenchRow] = []
        for number, (test, text) in enumerate(bench.PROMPTS, start=1):
            async with self.progress.step(f"benchmark {number}/{len(bench.PROMPTS)}: {text}"):
                row = await bench.run_prompt(client, agent.agent_id, agent.sensors, test, text)
            rows.append(row)
            first_line = row.answer.strip().splitlines()[0] if row.answer.strip() else ""
            self.progress.note(f"  answer: {first_line[:100]}")
        return bench.format_table(rows)

    async def light_demo(
        self, client: HassClient, ws: HassWebSocket, agent: integration.DemoAgent
    ) -> list[str]:
        """Turn on the kitchen light: handled locally, then by the model; return report lines.

        The preferred pipeline prefers local handling, so HA's own matcher answers at once;
        the model-only pipeline shows the agent's tool call.
        """
        async with self.progress.step(f"Assist (local first): {LIGHT_PROMPT}"):
            started = time.monotonic()
            local = await assist.run_pipeline(ws, agent.pipeline_id, LIGHT_PROMPT)
            local_seconds = time.monotonic() - started
        local_state = (await client.state(LIGHT_ENTITY))["state"]
        handled = "by the model" if local.tool_calls else "locally"
        outcome = f"{LIGHT_ENTITY}: {local_state}; answer: {local.speech}"
        lines = [
            f"> {LIGHT_PROMPT}  (Assist pipeline, commands handled locally first)",
            f"  handled {handled} in {local_seconds:.2f} s; {outcome}",
        ]
        await client.request(
            "POST", "/api/services/light/turn_off", json={"entity_id": LIGHT_ENTITY}
        )
        before = (await client.state(LIGHT_ENTITY))["state"]
        async with self.progress.step(f"Assist (model only): {LIGHT_PROMPT}"):
            run = await assist.run_pipeline(ws, agent.model_pipeline_id, LIGHT_PROMPT)
        after = (await client.state(LIGHT_ENTITY))["state"]
        lines.append(f"> {LIGHT_PROMPT}  (model-only pipeline)")
        lines += [f"  tool call: {call}" for call in run.tool_calls] or ["  tool call: none"]
        lines += [f"  tool result: {result}" for result in run.tool_results]
        lines.append(f"  {LIGHT_ENTITY}: {before} → {after}")
        lines.append(f"  answer: {run.speech}")
        if not run.tool_calls or after != "on":
            raise DemoError(
                "the kitchen light was not turned on by a tool call:\n" + "\n".join(lines)
            )
        return lines

    async def run(self) -> int:
        """Run the demo; return the exit code."""
        ports = {"Home Assistant": (self.args.ha_port, "--ha-port")}
        if self.remote_url is None:
            ports["rkllama emulator"] = (self.args.emulator_port, "--emulator-port")
        check_ports(HOST, ports)
        haconfig.write_config_dir(
            self.config_dir,
            port=self.args.ha_port,
            integration_dir=ROOT / "custom_components" / integration.DOMAIN,
        )
        async with aiohttp.ClientSession() as session:
            if self.remote_url is None:
                server_url = await self.start_emulator(session)
                server = f"the rkllama emulator, {'fast' if self.args.fast else 'board'} timing"
            else:
                server_url = server = self.remote_url
                async with self.progress.step(f"checking the rkllama server at {server_url}"):
                    await wait_for_server(session, server_url, 10, None)
            client = HassClient(self.base_url, session)
            ws = await self.start_hass(client)
            try:
                agent = await self.setup_agent(client, ws, server_url)
                failed = await self.show(client, ws, agent, server)
                if self.args.once:
                    return 1 if failed else 0
                await self.serve_until_stopped()
            finally:
                await ws.close()
        return 0

    async def show(
        self, client: HassClient, ws: HassWebSocket, agent: integration.DemoAgent, server: str
    ) -> bool:
        """Run the benchmark, the light and the screenshots; return True if one failed.

        With --once a failure ends the run at once; otherwise it is reported and Home Assistant
        stays up to be looked at (a real model may not call the tool, for instance).
        """
        failed = False
        for part in (self.print_benchmark, self.print_light, self.save_screenshots):
            try:
                await part(client, ws, agent, server)
            except DemoError as err:
                if self.args.once:
                    raise
                failed = True
                print(f"scripts/demo: error: {err}", file=sys.stderr)
        return failed

    async def print_benchmark(
        self, client: HassClient, _ws: HassWebSocket, agent: integration.DemoAgent, server: str
    ) -> None:
        """Print the seed's table, measured by the integration's sensors."""
        table = await self.benchmark(client, agent)
        print(f"\n#### {MODEL} through Home Assistant's conversation agent ({server})\n")
        print(table)
        print(
            "\nFigures from the rkllm sensors after each answer. Total tokens = prompt tokens "
            "(instructions, exposed entities and Assist tools included) + completion tokens.\n",
            flush=True,
        )

    async def print_light(
        self, client: HassClient, ws: HassWebSocket, agent: integration.DemoAgent, _server: str
    ) -> None:
        """Turn on the kitchen light through the Assist pipeline and print what happened."""
        print("\n".join(await self.light_demo(client, ws, agent)), flush=True)

    async def save_screenshots(
        self, client: HassClient, _ws: HassWebSocket, agent: integration.DemoAgent, _server: str
    ) -> None:
        """Save the screenshots when --screenshots asks for them."""
        if self.args.screenshots is None:
            return
        from demo_lib import browser  # noqa: PLC0415 - only with --screenshots

        async with self.progress.step(f"screenshots into {self.args.screenshots}"):
            saved = await browser.take_screenshots(
                self.args.screenshots, client, agent, self.config_dir
            )
        self.progress.note("saved " + ", ".join(str(path) for path in saved))

    async def serve_until_stopped(self) -> None:
        """Keep Home Assistant running until Ctrl-C (or until a child dies)."""
        _, username, password = USER
        print(
            f"\nHome Assistant is running at {self.base_url}/\n"
            f"Log in as {username!r} with password {password!r}. Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            for process in self.processes:
                process.check_alive()
            await asyncio.sleep(1)


async def _main(args: argparse.Namespace) -> int:
    progress = Progress()
    demo = Demo(args, progress)
    # First Ctrl-C: stop in order (HA, then the emulator). Second: kill them at once.
    restore_signals = cancel_on_signals(demo.kill_processes)
    try:
        return await demo.run()
    except DemoError as err:
        print(f"scripts/demo: error: {err}", file=sys.stderr)
        ha_log = demo.config_dir / "home-assistant.log"
        if errors := haconfig.logged_errors(ha_log):
            print(f"Errors in {ha_log}:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        progress.note("stopping (Ctrl-C)")
        return 130
    finally:
        await demo.stop_processes()
        restore_signals()


def main(argv: list[str] | None = None) -> int:
    """Run the demo and return its exit code."""
    return asyncio.run(_main(parse_args(argv)))
