"""Start the rkllama emulator and a real Home Assistant as children (the demo and the bench)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
import sys
import time

import aiohttp

from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.procs import DemoError, ManagedProcess
from demo_lib.progress import Progress

HOST = "127.0.0.1"
HA_START_TIMEOUT = 180.0  # seconds until HA serves HTTP (first start compiles translations etc.)
EMULATOR_START_TIMEOUT = 60.0  # seconds
# Children talk to nothing outside this machine (a tokenizer must come from a local cache).
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def offline_env() -> dict[str, str]:
    """Return the environment for children: ours, plus the offline switches."""
    return {**os.environ, **OFFLINE_ENV}


def server_from_env() -> str | None:
    """Return the real rkllama server's URL from RKLLM_SERVER_HOST/PORT, or None."""
    host = os.environ.get("RKLLM_SERVER_HOST", "").strip()
    port = os.environ.get("RKLLM_SERVER_PORT", "").strip()
    if not host and not port:
        return None
    if host.startswith(("http://", "https://")):
        return host.rstrip("/") + (f":{port}" if port and host.count(":") < 2 else "")
    return f"http://{host or 'localhost'}:{port or '8080'}"


async def wait_for_server(
    session: aiohttp.ClientSession, url: str, timeout: float, process: ManagedProcess | None
) -> None:
    """Wait until the rkllama server answers HTTP at ``url``."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None:
            process.check_alive()
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with asyncio.timeout(5), session.get(url + "/api/tags") as resp:
                if resp.status < 500:
                    return
        if time.monotonic() > deadline:
            raise DemoError(f"the rkllama server at {url} did not answer within {timeout:.0f}s")
        await asyncio.sleep(0.3)


async def start_emulator(
    progress: Progress,
    processes: list[ManagedProcess],
    session: aiohttp.ClientSession,
    *,
    port: int,
    models_dir: Path,
    log_path: Path,
    options: list[str],
    what: str,
    name: str = "rkllama emulator",
) -> str:
    """Start the bundled emulator (``options``: timing, flavour…); return its URL.

    The process is appended to ``processes`` before it starts, so the caller stops it.
    """
    url = f"http://{HOST}:{port}"
    async with progress.step(f"starting the rkllama emulator ({what}) on {url}"):
        process = ManagedProcess(
            name,
            [
                sys.executable,
                "-m",
                "rkllama_emulator",
                "--host",
                HOST,
                "--port",
                str(port),
                "--models-dir",
                str(models_dir),  # the emulator fills it with the seed's models
                *options,
            ],
            log_path,
            offline_env(),
        )
        processes.append(process)
        await process.start()
        await wait_for_server(session, url, EMULATOR_START_TIMEOUT, process)
    return url


async def start_hass(
    progress: Progress,
    processes: list[ManagedProcess],
    client: HassClient,
    config_dir: Path,
    user: tuple[str, str, str],
) -> tuple[ManagedProcess, HassWebSocket]:
    """Start Home Assistant on a fresh config dir, onboard ``user``; return it and a websocket.

    The process is appended to ``processes`` before it starts, so the caller stops it.
    """
    async with progress.step(f"starting Home Assistant on {client.base_url}"):
        process = ManagedProcess(
            "Home Assistant",
            [
                str(Path(sys.executable).with_name("hass")),
                "--config",
                str(config_dir),
                "--skip-pip",  # requirements come from requirements.lock, nothing from the net
                "--log-no-color",
            ],
            config_dir / "hass-console.log",
            offline_env(),
        )
        processes.append(process)
        await process.start()
        await client.wait_until_serving(process, HA_START_TIMEOUT)
    async with progress.step(f"onboarding the {user[1]} user"):
        await client.onboard(*user)
        ws = await client.websocket()
        deadline = time.monotonic() + HA_START_TIMEOUT
        while (await ws.call("get_config"))["state"] != "RUNNING":
            process.check_alive()
            if time.monotonic() > deadline:
                raise DemoError("Home Assistant did not reach RUNNING")
            await asyncio.sleep(0.5)
    return process, ws
