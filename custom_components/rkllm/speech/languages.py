"""Which of the languages we have answers a request's language (regional codes included)."""

from __future__ import annotations

from collections.abc import Iterable

# Script subtags Home Assistant uses for Chinese, and the regional variant each stands for.
_ALIASES = {"zh-hans": "zh-cn", "zh-hant": "zh-tw", "no": "nb", "nn": "nb"}


def match_language(language: str | None, available: Iterable[str]) -> str | None:
    """Return the entry of `available` that serves `language`, or None.

    The exact code first (any case, `_` or `-`), then the base language (`fr-FR` → `fr`),
    then the first regional variant of the base language (`zh` → `zh-CN`).
    """
    if not language:
        return None
    by_code = {code.lower(): code for code in sorted(available)}
    wanted = language.replace("_", "-").lower()
    wanted = _ALIASES.get(wanted, wanted)
    base = wanted.split("-", maxsplit=1)[0]
    if found := by_code.get(wanted) or by_code.get(base):
        return found
    return next((code for lower, code in by_code.items() if lower.startswith(f"{base}-")), None)
