"""Mandarin phone set and lyric -> phones conversion (docs/data_contract.md, "Phone set").

    lyric line (Chinese characters) --pypinyin strict--> syllables [(initial, final), ...]
        --drop empty initials--> phones ["n", "i", "h", "ao", ...]

Phones are the pypinyin INITIALS, the strict FINALS (u-umlaut written ``v``), ``SP`` (silence)
and ``AP`` (breath). One syllable = optional initial + final.
"""

from typing import List, Tuple

from pypinyin import Style, lazy_pinyin

INITIALS: Tuple[str, ...] = (
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
    "j", "q", "x", "zh", "ch", "sh", "r", "z", "c", "s",
)
FINALS: Tuple[str, ...] = (
    "a", "o", "e", "i", "u", "v", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "er",
    "ia", "ie", "iao", "iou", "ian", "in", "iang", "ing", "iong", "io",
    "ua", "uo", "uai", "uei", "uan", "uen", "uang", "ueng", "ve", "van", "vn",
)
SILENCE = "SP"
BREATH = "AP"
PHONES: Tuple[str, ...] = INITIALS + FINALS + (SILENCE, BREATH)

# Labels that annotators use for silence / breath, mapped to the canonical phone.
_SILENCE_ALIASES = {"", "sp", "sil", "<sp>", "silence", "pau", "<sil>"}
_BREATH_ALIASES = {"ap", "br", "breath", "<ap>", "<br>"}
# Characters ignored in lyric lines (spaces and punctuation).
_PUNCT = set(" \t\u3000，。！？、；：,.!?;:\"'“”‘’（）()《》…-—")

_PHONE_SET = frozenset(PHONES)


class PhoneError(ValueError):
    """A lyric or phone that is not in the Mandarin phone set."""


def normalize_phone(label: str) -> str:
    """Map an annotation label to a canonical phone (``sil`` -> ``SP``, ``br`` -> ``AP``).

    Raises PhoneError for labels outside the phone set.
    """
    lab = label.strip()
    low = lab.lower()
    if low in _SILENCE_ALIASES:
        return SILENCE
    if low in _BREATH_ALIASES:
        return BREATH
    if lab in _PHONE_SET:
        return lab
    if low in _PHONE_SET:
        return low
    raise PhoneError(f"unknown phone {label!r} (expected a pinyin initial/final, SP or AP)")


def is_rest(phone: str) -> bool:
    """True for the silence and breath phones (which carry MIDI 0)."""
    return phone in (SILENCE, BREATH)


def lyric_chars(line: str) -> List[str]:
    """The characters of a lyric line that carry a syllable (punctuation and spaces dropped)."""
    return [ch for ch in line if ch not in _PUNCT]


def lyric_to_syllables(line: str) -> List[Tuple[str, str]]:
    """Lyric line -> [(initial, final), ...], one per character; initial may be "".

    Raises PhoneError naming the character when it has no pinyin (e.g. Latin letters).
    """
    chars = lyric_chars(line)
    if not chars:
        raise PhoneError("empty lyric line")
    text = "".join(chars)
    initials = lazy_pinyin(text, style=Style.INITIALS, strict=True, errors=lambda x: [None] * len(x))
    finals = lazy_pinyin(text, style=Style.FINALS, strict=True, errors=lambda x: [None] * len(x))
    if len(initials) != len(chars) or len(finals) != len(chars):
        raise PhoneError(f"could not convert lyric {line!r} to one syllable per character")
    out = []
    for pos, (ch, ini, fin) in enumerate(zip(chars, initials, finals)):
        if fin is None or ini is None or not fin.strip():
            raise PhoneError(f"character {ch!r} (position {pos + 1}) of lyric {line!r} has no pinyin")
        if fin not in FINALS or (ini and ini not in INITIALS):
            raise PhoneError(f"character {ch!r} of lyric {line!r} gives unsupported pinyin {ini}{fin}")
        out.append((ini, fin))
    return out


def syllable_phones(syllable: Tuple[str, str]) -> List[str]:
    """(initial, final) -> [initial, final] or [final] when the initial is empty."""
    ini, fin = syllable
    return [ini, fin] if ini else [fin]


def lyric_to_phones(line: str) -> List[List[str]]:
    """Lyric line -> phones grouped per syllable, e.g. "你好" -> [["n", "i"], ["h", "ao"]]."""
    return [syllable_phones(s) for s in lyric_to_syllables(line)]
