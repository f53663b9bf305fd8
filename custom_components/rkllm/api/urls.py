"""Server addresses: normalise what a user types, keep credentials out of every output."""

from __future__ import annotations

import ipaddress
import re

from yarl import URL

DEFAULT_PORT = 8080  # rkllama's own port
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
    if port is None:
        port = HTTPS_PORT if parsed.scheme == "https" else DEFAULT_PORT
    url = URL.build(
        scheme=parsed.scheme,
        user=parsed.user,
        password=parsed.password,
        host=host,
        port=port,
        path=parsed.path.rstrip("/"),
    )
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
