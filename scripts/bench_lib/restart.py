"""Restart a benchmark Home Assistant on its config dir, offline, keeping its user and agents."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.launch import HA_START_TIMEOUT, offline_env
from demo_lib.procs import DemoError, ManagedProcess
from demo_lib.progress import Progress


class ProcessOwner(Protocol):
    """What a restart needs of the run that started Home Assistant."""

    progress: Progress
    processes: list[ManagedProcess]

    async def stop_one(self, process: ManagedProcess) -> None:
        """Stop one child process of the run."""


async def restart_hass(
    bench: ProcessOwner, process: ManagedProcess, ws: HassWebSocket, client: HassClient
) -> tuple[ManagedProcess, HassWebSocket]:
    """Stop HA, start it again with the same command; return the new process and websocket.

    The environment is the offline one of every bench child (no Hugging Face, no telemetry),
    so the integration starts as it would in a home without internet access. The client's
    access token stays valid: HA keeps its refresh tokens across restarts.
    """
    await ws.close()
    argv, log_path, env = process.argv, process.log_path, offline_env()
    await bench.stop_one(process)
    async with bench.progress.step("8 restart · restarting Home Assistant (offline)"):
        restarted = ManagedProcess("Home Assistant", argv, log_path, env)
        bench.processes.append(restarted)
        await restarted.start()
        deadline = time.monotonic() + HA_START_TIMEOUT
        await _wait_for_api(client, restarted, deadline)
        new_ws = await client.websocket()
        while (await new_ws.call("get_config"))["state"] != "RUNNING":
            restarted.check_alive()
            if time.monotonic() > deadline:
                raise DemoError("Home Assistant did not reach RUNNING after the restart")
            await asyncio.sleep(0.5)
    return restarted, new_ws


async def _wait_for_api(client: HassClient, process: ManagedProcess, deadline: float) -> None:
    """Wait until the REST API answers the kept token (onboarding is done, so not its view)."""
    while True:
        process.check_alive()
        try:
            await client.request("GET", "/api/", timeout=5)
        except DemoError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        else:
            return
