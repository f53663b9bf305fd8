"""`python -m rkllama_emulator` starts, answers and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import socket
import sys

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cli_serves_and_stops(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    port = free_port()
    models = tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rkllama_emulator",
        "--port",
        str(port),
        "--models-dir",
        str(models),
        "--timing",
        "fast",
        "--load-seconds",
        "0",
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.decode().strip().endswith(f"http://127.0.0.1:{port}")
        assert min(p.name for p in models.iterdir()) == "DeepSeek-R1-1.5B"
        url = f"http://127.0.0.1:{port}"
        async with http.get(f"{url}/api/version") as response:
            assert await response.json() == {"version": "0.0.74"}
        body = {
            "model": "Qwen2.5-3B",
            "stream": False,
            "messages": [{"role": "user", "content": "2 + 2"}],
        }
        async with http.post(f"{url}/api/chat", json=body) as response:
            assert (await response.json())["message"]["content"] == "2 + 2 = 4."
    finally:
        process.terminate()
        code = await asyncio.wait_for(process.wait(), timeout=10)
    assert code == 0
