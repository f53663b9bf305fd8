"""Server addresses: the default, normalising what users type, keeping credentials out of output."""

from __future__ import annotations

import ipaddress
import os
import re

from yarl import URL

ENV_SERVER_HOST = "RKLLM_SERVER_HOST"
ENV_SERVER_PORT = "RKLLM_SERVER_PORT"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080  # rkllama's own port
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
HTTPS_PORT = 443
REDACTED = "**REDACTED**"

_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
# user:password@ in any URL-looking text (aiohttp errors may carry the full URL).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


class InvalidServerUrlError(ValueError):
    """The text is not a usable rkllama server address."""


def normalize_url(text: str) -> str:
    """Return `http(s)://host:port[/path]` for `host`, `host:port` or a full URL.

    Without a scheme the URL is http; without a port it is rkllama's 8080, except for an
    explicit https URL (a reverse proxy), which keeps 443. Credentials and a path prefix are
    kept, query and fragment dropped.

    Raises:
        InvalidServerUrlError: the text cannot name an http(s) server.

    """
    return _canonical(*_parse(text))


def default_server_url() -> str:
    """Return the address to suggest: RKLLM_SERVER_HOST/_PORT, else http://localhost:8080.

    A port written in the host wins over RKLLM_SERVER_PORT; an unusable host or port gives
    the default.
    """
    host = os.environ.get(ENV_SERVER_HOST, "").strip() or DEFAULT_HOST
    port = os.environ.get(ENV_SERVER_PORT, "").strip()
    try:
        parsed, written_port = _parse(host)
        if written_port is None and port:
            written_port = int(port)
        return _canonical(parsed, written_port)
    except ValueError:
        return DEFAULT_URL


def _parse(text: str) -> tuple[URL, int | None]:
    """Return the http(s) URL a user wrote (http when no scheme is given) and its port.

    Raises:
        InvalidServerUrlError: the text cannot name an http(s) server.

    """
    text = text.strip()
    if not text or any(char.isspace() for char in text):
        raise InvalidServerUrlError(text)
    if "://" not in text:
        text = f"http://{text}"
    try:
        parsed = URL(text)
        port = parsed.explicit_port
    except ValueError as err:
        raise InvalidServerUrlError(without_credentials_text(text)) from err
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host or not _valid_host(host):
        raise InvalidServerUrlError(without_credentials_text(text))
    return parsed, port


def _canonical(parsed: URL, port: int | None) -> str:
    """Return `parsed` with its scheme's default port filled in, no query or fragment.

    Raises:
        InvalidServerUrlError: the port is out of range.

    """
    if port is None:
        port = HTTPS_PORT if parsed.scheme == "https" else DEFAULT_PORT
    try:
        url = URL.build(
            scheme=parsed.scheme,
            user=parsed.user,
            password=parsed.password,
            host=parsed.host or "",
            port=port,
            path=parsed.path.rstrip("/"),
        )
    except ValueError as err:
        raise InvalidServerUrlError(without_credentials(str(parsed))) from err
    return str(url)


def _valid_host(host: str) -> bool:
    """Return True for a host name or an IP address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))
    return True


def without_credentials(url: str) -> str:
    """Return `url` with any `user:password@` part removed."""
    try:
        return str(URL(url).with_user(None))
    except ValueError:
        return without_credentials_text(url)


def redacted(url: str) -> str:
    """Return `url` with its user name and password replaced by a marker."""
    parsed = URL(url)
    if parsed.user is None and parsed.password is None:
        return url
    return str(parsed.with_user(REDACTED).with_password(None))


def with_credentials(url: str, user: str, password: str) -> str:
    """Return `url` with the given user name and password (no password when empty)."""
    return str(URL(url).with_user(user).with_password(password or None))


def url_user(url: str) -> str | None:
    """Return the user name in `url`, if any."""
    return URL(url).user


def url_host(url: str) -> str:
    """Return the host name or address of `url`."""
    return URL(url).host or ""


def host_and_port(url: str) -> str:
    """Return `host:port` of `url` (an IPv6 address in brackets)."""
    parsed = URL(url)
    host = parsed.host or ""
    return f"[{host}]:{parsed.port}" if ":" in host else f"{host}:{parsed.port}"


def has_credentials(url: str) -> bool:
    """Return True when `url` carries a user name or password."""
    parsed = URL(url)
    return parsed.user is not None or parsed.password is not None


def without_credentials_text(text: str, *secrets: str | None) -> str:
    """Return `text` with URL user-info, bearer tokens and the given secrets removed."""
    text = _USERINFO.sub(r"\g<scheme>", text)
    text = _BEARER.sub(r"\g<1>" + REDACTED, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def url_secrets(url: str) -> tuple[str, ...]:
    """Return the user name and password of `url` (the parts no output may show)."""
    parsed = URL(url)
    return tuple(
        part
        for part in (parsed.password, parsed.raw_password, parsed.user, parsed.raw_user)
        if part and len(part) >= 3  # noqa: PLR2004 - too short to redact safely in free text
    )


def is_local_host(url: str) -> bool:
    """Return True when `url` names this machine or a private (LAN) address."""
    host = URL(url).host or ""
    if host.lower() in _LOCAL_NAMES or host.lower().endswith((".local", ".lan", ".home.arpa")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def token_travels_in_clear(url: str) -> bool:
    """Return True when a token sent to `url` would cross a network unencrypted."""
    return URL(url).scheme == "http" and not is_local_host(url)
