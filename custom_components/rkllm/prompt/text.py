"""Words of a request or a name, compared in any script and with any inflection.

Text is folded case- and accent-free where accents are marks on letters (Latin, Greek,
Cyrillic: `Küche` = `kuche` = `Kueche`); other scripts keep their marks (a Devanagari vowel
sign is part of the letter). A known word matches a said word that starts with most of it
(`лампа` ~ `лампу`, `konyha` ~ `konyhában`, `TV` ~ `TVen`), or holds most of it after a short
prefix (`סלון` in `בסלון`) or anywhere when long enough (`licht` in `Küchenlicht`).
"""

from __future__ import annotations

from functools import lru_cache
import unicodedata

_UMLAUTS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_MARKED_SCRIPTS_END = "\u0530"  # Latin, Greek, Cyrillic, Armenian: marks are accents
_SHORT = 3  # a known word this short matches itself with at most a short ending
_SHORT_ENDING = 4  # "TV" → "TVen", "TVmens"
_INSIDE = 4  # a core this long is found anywhere in a said word (compounds)
_PROCLITIC = 4  # letters a said word may have in front of a shorter core ("وبال", "ב")
# Scripts written without spaces between words: names are found as substrings.
_UNSPACED = (
    ("\u0e00", "\u0eff"),  # Thai, Lao
    ("\u1000", "\u109f"),  # Myanmar
    ("\u1780", "\u17ff"),  # Khmer
    ("\u2e80", "\u9fff"),  # CJK, kana
    ("\uac00", "\ud7af"),  # Hangul syllables (particles attach)
    ("\uf900", "\ufaff"),
    ("\uff66", "\uff9f"),  # half-width kana
)


def normalize(text: str) -> str:
    """Return `text` case-free, without accents on Latin, Greek and Cyrillic letters."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    kept: list[str] = []
    base = ""
    for char in folded:
        if unicodedata.combining(char):
            if base < _MARKED_SCRIPTS_END:
                continue
        else:
            base = char
        kept.append(char)
    plain = unicodedata.normalize("NFC", "".join(kept))
    for written, letter in _UMLAUTS:
        plain = plain.replace(written, letter)
    return plain


def words(text: str) -> list[str]:
    """Return the normalized words of `text` (letters, marks and digits; any script).

    A word ends where a script without spaces meets another ("暂停TV" → "暂停", "tv").
    """
    kept: list[str] = []
    unspaced = False
    for char in normalize(text):
        if unicodedata.category(char)[0] not in "LMN":
            kept.append(" ")
            continue
        if unicodedata.category(char)[0] == "L":
            if is_unspaced(char) != unspaced and kept:
                kept.append(" ")
            unspaced = is_unspaced(char)
        kept.append(char)
    return "".join(kept).split()


@lru_cache(maxsize=65536)
def is_unspaced(word: str) -> bool:
    """Return whether `word` is written in a script without spaces between words."""
    return any(low <= char <= high for char in word for low, high in _UNSPACED)


def _tolerance(length: int) -> int:
    """Return the letters of a known word's end an inflection may change."""
    if length <= _SHORT:
        return 0
    return 1 if length <= 5 else 2 if length <= 7 else 3  # noqa: PLR2004


@lru_cache(maxsize=65536)
def word_matches(said: str, known: str) -> bool:
    """Return whether the said word can be an inflected or compounded form of `known`."""
    if said == known:
        return True
    if is_unspaced(known):
        return known in said
    if len(known) < _SHORT:
        return said.startswith(known) and len(said) - len(known) <= _SHORT_ENDING
    core = known[: max(_SHORT, len(known) - _tolerance(len(known)))]
    where = said.find(core)
    if where < 0:
        return False
    return where <= _PROCLITIC if len(core) < _INSIDE else True
