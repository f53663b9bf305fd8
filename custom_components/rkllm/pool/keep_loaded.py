"""Models agents keep loaded: which to preload on a server, and which to touch when.

Upstream unloads a model that has not been asked for a while; a kept model is touched (a
one-token request) before that happens, unless it answered since.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.const import CONF_MODEL

from ..const import CONF_KEEP_LOADED, KEEP_LOADED_REFRESH
from .server import PoolServer


def kept_names(server: PoolServer, servers: Iterable[PoolServer]) -> list[str]:
    """Return `server`'s names of every model an agent of any entry keeps loaded."""
    names: list[str] = []
    for each in servers:
        for subentry in each.coordinator.config_entry.subentries.values():
            choice = subentry.data.get(CONF_MODEL)
            if not subentry.data.get(CONF_KEEP_LOADED) or not isinstance(choice, str):
                continue
            name = server.coordinator.offers(choice)
            if name is not None and name not in names:
                names.append(name)
    return names


def to_preload(server: PoolServer, servers: Iterable[PoolServer]) -> list[str]:
    """Return the kept models `server` neither holds nor loads (single-model: one at most)."""
    residency = server.residency
    missing = [name for name in kept_names(server, servers) if not residency.holds(name)]
    if server.single_model:
        return missing[:1] if not residency.resident and not residency.loading else []
    return missing


def to_touch(server: PoolServer, servers: Iterable[PoolServer], now: float) -> list[str]:
    """Return the kept resident models whose idle timer needs a restart now.

    One whose lane is busy is left alone: an answer restarts the timer, and a load or unload
    decides its fate anyway. One last used at an unknown time (loaded before us, or by someone
    else) is touched at once.
    """
    npu = server.npu
    return [
        name
        for name in kept_names(server, servers)
        if server.residency.is_ready(name)
        and server.idle(name)
        and now - npu.last_used.get(name, float("-inf")) >= KEEP_LOADED_REFRESH.total_seconds()
    ]
