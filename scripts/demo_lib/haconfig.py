"""A throwaway Home Assistant config dir: integrations listed explicitly, loopback only."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
import re
import shutil
from typing import Any

from demo_lib.procs import DemoError

# Demo entities exposed to Assist: optimistic template lights and a switch (no hardware, offline).
DEMO_LIGHTS = ("Kitchen light", "Living room light", "Bedroom light")
DEMO_SWITCHES = ("Coffee maker",)
MARKER = ".rkllm-demo"  # only a config dir holding this file is ever deleted
# Errors HA logs in every demo run that say nothing about the demo: no ffmpeg binary (TTS is not
# used, the pipeline is text only) and no libturbojpeg (camera snapshots are not used).
EXPECTED_ERRORS = ("[haffmpeg.", "Error loading libturbojpeg")
_LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\w+) ")

CONFIGURATION_YAML = """\
# Written by scripts/demo for one run; recreated every time.
homeassistant:
  name: rkllm demo
  latitude: 52.3731
  longitude: 4.8922
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: NL
  language: en
  auth_providers:
    - type: homeassistant

# No default_config: it brings zeroconf, ssdp, dhcp, bluetooth, cloud, go2rtc and more that talk
# to the network. Only what the demo needs.
frontend:
api:
config:
conversation:
assist_pipeline:
recorder:
  purge_keep_days: 1
history:
logbook:
logger:
  default: warning
  logs:
    custom_components.rkllm: info

template:
{template_entities}
"""


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def _template_entities() -> str:
    lines = ["  - light:"]
    for name in DEMO_LIGHTS:
        lines += [
            f"      - name: {name}",
            f"        unique_id: rkllm_demo_{_slug(name)}",
            "        turn_on: []",
            "        turn_off: []",
            "        set_level: []",
        ]
    lines.append("    switch:")
    for name in DEMO_SWITCHES:
        lines += [
            f"      - name: {name}",
            f"        unique_id: rkllm_demo_{_slug(name)}",
            "        turn_on: []",
            "        turn_off: []",
        ]
    return "\n".join(lines)


def demo_areas() -> dict[str, str]:
    """Return entity id -> the onboarding area it belongs in (kitchen, living_room, bedroom)."""
    areas = {f"light.{_slug(name)}": _slug(name.removesuffix(" light")) for name in DEMO_LIGHTS}
    return {**areas, **{f"switch.{_slug(name)}": "kitchen" for name in DEMO_SWITCHES}}


def demo_entity_ids() -> list[str]:
    """Return the entity ids of the demo lights and switches."""
    return [f"light.{_slug(name)}" for name in DEMO_LIGHTS] + [
        f"switch.{_slug(name)}" for name in DEMO_SWITCHES
    ]


def _store(key: str, version: int, data: dict[str, Any], minor_version: int = 1) -> str:
    return json.dumps(
        {"version": version, "minor_version": minor_version, "key": key, "data": data}, indent=2
    )


def write_config_dir(
    config_dir: Path, *, port: int, integration_dir: Path, template_entities: str | None = None
) -> None:
    """Recreate ``config_dir`` for a first start of HA on 127.0.0.1:``port``.

    ``template_entities`` is the body of the ``template:`` block (default: the demo's lights
    and switch).
    """
    if config_dir.exists():
        if any(config_dir.iterdir()) and not (config_dir / MARKER).exists():
            raise DemoError(
                f"{config_dir} is not empty and was not made by scripts/demo: "
                "refusing to delete it (choose another --config-dir)"
            )
        shutil.rmtree(config_dir)
    storage = config_dir / ".storage"
    storage.mkdir(parents=True)
    (config_dir / MARKER).write_text("Made by scripts/demo; deleted and recreated on every run.\n")
    (config_dir / "custom_components").mkdir()
    (config_dir / "custom_components" / "rkllm").symlink_to(integration_dir.resolve())
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(template_entities=template_entities or _template_entities())
    )
    # HA 2026.x reads the HTTP bind address and port only from .storage/http (a YAML http: block
    # becomes a "pending" config that reverts to 0.0.0.0:8123 after 5 minutes): confirmed config.
    http = {
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": False,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    (storage / "http").write_text(
        _store("http", 2, {"stable": http, "pending": None, "yaml_migration_done": True}, 2)
    )
    # Every onboarding step but the user is done: the core_config step would start flows
    # (weather, radio browser) that want the internet. The demo creates the user over the API.
    (storage / "onboarding").write_text(
        _store("onboarding", 4, {"done": ["core_config", "analytics", "integration"]})
    )
    (storage / "core.network").write_text(
        _store("core.network", 1, {"configured_adapters": ["lo"]})
    )


def logged_errors(log_path: Path, limit: int = 5) -> list[str]:
    """Return the last unexpected ERROR entries of HA's log: first line, then the exception."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    entries: list[list[str]] = []
    for line in lines:
        if match := _LOG_ENTRY.match(line):
            entries.append([line] if match.group(1) in {"ERROR", "CRITICAL"} else [])
        elif entries and entries[-1]:
            entries[-1].append(line)
    found = [
        e[0] + (f" | {e[-1].strip()}" if len(e) > 1 else "")
        for e in entries
        if e and not any(expected in e[0] for expected in EXPECTED_ERRORS)
    ]
    return found[-limit:]
