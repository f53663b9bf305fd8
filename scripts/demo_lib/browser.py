"""Screenshots of the real UI with headless Chromium (Debian's package), over DevTools."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
from pathlib import Path
import shutil
import tempfile
import time
from typing import Any

import aiohttp

from demo_lib.hass import HassClient
from demo_lib.integration import DemoAgent
from demo_lib.procs import DemoError, ManagedProcess

ASSIST_QUESTION = "Turn on the living room light"
ASSIST_ENTITY = "light.living_room_light"
ANSWER_TIMEOUT = 180.0  # seconds: on board timing a turn with tools takes a while
WINDOW = (1280, 900)
RENDER_TIMEOUT = 60.0  # seconds for a page to show what the screenshot is of
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the demo runs as root on CI machines
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-domain-reliability",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    # Nothing but the demo's Home Assistant: every other host (the brands CDN…) is NOTFOUND.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
    "--hide-scrollbars",
)

# Text of a page through its shadow roots (Home Assistant's frontend is web components).
DEEP_TEXT_JS = """
(() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeName === "SCRIPT" || node.nodeName === "STYLE") return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return out.join(" ");
})()
"""


async def ensure_chromium(log_dir: Path) -> str:
    """Return Debian's chromium, installing it with apt-get when missing (root only)."""
    if found := shutil.which("chromium"):
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DemoError("--screenshots needs Debian's chromium: apt-get install chromium")
    log = log_dir / "apt-chromium.log"
    with log.open("wb") as out:
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if await proc.wait() != 0:
                raise DemoError(f"{' '.join(argv)} failed; see {log}")
    if found := shutil.which("chromium"):
        return found
    raise DemoError("apt-get installed chromium, but there is no chromium on PATH")


class DevTools:
    """One page target of Chromium's DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap the page's DevTools websocket."""
        self._ws = ws
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            future = self._pending.pop(payload.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(payload)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call one DevTools method and return its result."""
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self._ws.send_json({"id": self._next_id, "method": method, "params": params})
        async with asyncio.timeout(60):
            answer = await future
        if "error" in answer:
            raise DemoError(f"DevTools {method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def text(self) -> str:
        """Return the page's text, shadow roots included."""
        result = await self.send("Runtime.evaluate", expression=DEEP_TEXT_JS, returnByValue=True)
        return str(result.get("result", {}).get("value", ""))

    async def wait_for_text(self, *needles: str) -> None:
        """Wait until every needle shows on the page."""
        deadline = time.monotonic() + RENDER_TIMEOUT
        while True:
            text = await self.text()
            if all(needle in text for needle in needles):
                return
            if time.monotonic() > deadline:
                missing = [n for n in needles if n not in text]
                raise DemoError(f"the page did not show {missing} within {RENDER_TIMEOUT:.0f}s")
            await asyncio.sleep(0.5)

    async def wait_until_still(self, quiet: float = 2.0) -> None:
        """Wait until the page's text has not changed for ``quiet`` seconds."""
        deadline = time.monotonic() + RENDER_TIMEOUT
        text, since = await self.text(), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            if (now := await self.text()) != text:
                text, since = now, time.monotonic()

    async def key(self, key: str, code: str, key_code: int, text: str | None = None) -> None:
        """Press and release one key."""
        down: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        await self.send(
            "Input.dispatchKeyEvent", type="keyDown", **down, **({"text": text} if text else {})
        )
        await self.send("Input.dispatchKeyEvent", type="keyUp", **down)

    async def screenshot(self, path: Path) -> None:
        """Save a PNG of the viewport."""
        await asyncio.sleep(1.0)  # let animations (dialog opening, ripples) settle
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        """Close the websocket."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def _devtools_port(profile: Path, process: ManagedProcess) -> int:
    """Wait for Chromium to write the DevTools port it chose."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        process.check_alive()
        if time.monotonic() > deadline:
            raise DemoError("Chromium did not open its DevTools port")
        await asyncio.sleep(0.2)
    return int(port_file.read_text().split()[0])


async def _login_script(client: HassClient) -> str:
    """Return JS that logs the frontend in with a long-lived token before any page script."""
    ws = await client.websocket()
    try:
        token = await ws.call(
            "auth/long_lived_access_token", client_name="rkllm demo screenshots", lifespan=1
        )
    finally:
        await ws.close()
    tokens = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 86400,
        "refresh_token": "",
        "hassUrl": client.base_url,
        "clientId": client.client_id,
        "expires": 4102444800000,  # 2100-01-01: the frontend never tries to refresh it
    }
    return (
        f"if (location.origin === {json.dumps(client.base_url)}) "
        f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
    )


async def take_screenshots(
    out_dir: Path, client: HassClient, agent: DemoAgent, work_dir: Path
) -> list[Path]:
    """Save the device page (sensors) and the Assist dialog after a question as PNGs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chromium = await ensure_chromium(work_dir)
    with tempfile.TemporaryDirectory(prefix="rkllm-demo-chromium-") as profile_dir:
        profile = Path(profile_dir)
        process = ManagedProcess(
            "Chromium",
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            work_dir / "chromium.log",
        )
        await process.start()
        try:
            return await _shoot(out_dir, client, agent, process, profile)
        finally:
            await process.stop(timeout=10)


async def _shoot(
    out_dir: Path, client: HassClient, agent: DemoAgent, process: ManagedProcess, profile: Path
) -> list[Path]:
    port = await _devtools_port(profile, process)
    async with client.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
        targets = await resp.json()
    page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
    tools = DevTools(await client.session.ws_connect(page_ws, max_msg_size=0))
    try:
        await tools.send("Page.enable")
        await tools.send(
            "Emulation.setDeviceMetricsOverride",
            width=WINDOW[0],
            height=WINDOW[1],
            deviceScaleFactor=1,
            mobile=False,
        )
        await tools.send(
            "Page.addScriptToEvaluateOnNewDocument", source=await _login_script(client)
        )
        return [
            await shoot_device_page(tools, client.base_url, agent, out_dir / "device-page.png"),
            await shoot_assist_dialog(tools, client, ASSIST_ENTITY, out_dir / "assist-dialog.png"),
        ]
    finally:
        await tools.close()


async def _shoot_when(tools: DevTools, path: Path, *needles: str) -> Path:
    """Screenshot once the needles show; on a timeout keep what showed as ``*-failed.png``."""
    try:
        await tools.wait_for_text(*needles)
    except DemoError:
        await tools.screenshot(path.with_name(f"{path.stem}-failed.png"))
        raise
    await tools.screenshot(path)
    return path


async def shoot_device_page(tools: DevTools, base_url: str, agent: DemoAgent, path: Path) -> Path:
    """Screenshot the rkllama server's device page with its sensors."""
    await tools.send("Page.navigate", url=f"{base_url}/config/devices/device/{agent.device_id}")
    return await _shoot_when(tools, path, "Tokens per second", "Completion tokens", "Response time")


async def shoot_assist_dialog(
    tools: DevTools, client: HassClient, entity_id: str, path: Path
) -> Path:
    """Open Assist on the overview (key "a"), ask ASSIST_QUESTION, screenshot the answer."""
    await tools.send("Page.navigate", url=f"{client.base_url}/lovelace/0")
    await tools.wait_for_text("Welcome", "Lights")
    await asyncio.sleep(1.0)  # the overview binds its keyboard shortcuts after rendering
    await tools.key("a", "KeyA", 65, "a")
    await tools.wait_for_text("Assist", "How can I assist?")
    await asyncio.sleep(1.0)
    await tools.send("Input.insertText", text=ASSIST_QUESTION)
    await tools.key("Enter", "Enter", 13, "\r")
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (await client.state(entity_id))["state"] != "on":
        if time.monotonic() > deadline:
            await tools.screenshot(path.with_name(f"{path.stem}-failed.png"))
            raise DemoError(f"Assist did not turn on {entity_id} within {ANSWER_TIMEOUT:.0f}s")
        await asyncio.sleep(0.5)
    await tools.wait_until_still()  # the answer streams in after the tool result
    await tools.screenshot(path)
    return path
