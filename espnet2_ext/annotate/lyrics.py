"""A song's lyrics file -> sung lines of syllables and their phones (docs/annotate.md, "Lyrics").

    <song>.txt, one sung line per text line (blank lines and lines starting with # skipped):
      Chinese characters --phones.lyric_to_syllables (pypinyin strict, in the line's context)-->
      pinyin syllables   --parse_pinyin (tone digits / marks dropped, y / w / ju / iu / ui / un
                           rewritten to pypinyin's strict spelling)-->
        (initial, final) per syllable --> phones [initial, final] or [final]

A pinyin line's word tier needs a character: the reader of the corpus (data/visualsinger.py) turns
the ``words`` tier back into phones with pypinyin, so each pinyin syllable is written as a common
character with that one reading (``proxy_char``; a character with several readings is never used).
"""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_ext.data.phones import FINALS, INITIALS, PhoneError, lyric_chars, lyric_to_syllables, syllable_phones

_INITIALS_BY_LENGTH = sorted(INITIALS, key=len, reverse=True)  # zh, ch, sh before z, c, s


class LyricsError(ValueError):
    """A lyrics file or line that cannot be turned into phones; the message names the file and line."""


@dataclass
class Syllable:
    text: str  # as written: the character or the pinyin syllable
    label: str  # the words-tier label (the character; for pinyin its proxy character)
    phones: List[str]


@dataclass
class LyricLine:
    no: int  # line number in the lyrics file
    text: str
    syllables: List[Syllable]

    @property
    def phones(self) -> List[str]:
        return [p for s in self.syllables for p in s.phones]


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def parse_pinyin(token: str) -> Tuple[str, str]:
    """One pinyin syllable (``yue4``, ``yuè``, ``lü``, ``lv``, ``zhuang``) -> (initial, final) as
    pypinyin's strict style writes them (initial "" for y / w / vowel-initial syllables). Raises
    PhoneError naming the token when it is not one Mandarin syllable."""
    s = unicodedata.normalize("NFD", token.strip().lower()).replace("u\u0308", "v").replace("u:", "v")
    s = "".join(c for c in s if not unicodedata.combining(c)).rstrip("012345")
    if not s.isascii() or not s.isalpha():
        raise PhoneError(f"{token!r} is not a pinyin syllable")
    if s.startswith("y"):
        rest = s[1:]
        initial, final = "", ("v" + rest[1:] if rest.startswith("u") else rest if rest.startswith("i") else "i" + rest)
    elif s.startswith("w"):
        rest = s[1:]
        initial, final = "", ("u" if rest == "u" else "u" + rest)
    else:
        initial = next((i for i in _INITIALS_BY_LENGTH if s.startswith(i)), "")
        final = s[len(initial):]
        if initial in ("j", "q", "x") and final.startswith("u"):
            final = "v" + final[1:]
        final = {"iu": "iou", "ui": "uei", "un": "uen"}.get(final, final) if initial else final
    if final not in FINALS:
        raise PhoneError(f"{token!r} is not a pinyin syllable (final {final!r} unknown)")
    return initial, final


@lru_cache(maxsize=1)
def _proxy_table() -> Dict[Tuple[str, str], str]:
    """(initial, final) -> a common character whose only reading is that syllable (GB2312 level-1
    characters first, in their pinyin order, then the rest of the basic CJK block); for the few
    syllables that no such character has (``shei``, ``dei``, ...), a character that pypinyin reads so
    on its own."""
    from pypinyin import pinyin_dict

    table: Dict[Tuple[str, str], str] = {}
    readings = pinyin_dict.pinyin_dict

    def level1(cp: int) -> bool:
        try:
            b = chr(cp).encode("gb2312")
        except UnicodeEncodeError:
            return False
        return 0xB0 <= b[0] <= 0xD7

    cps = sorted((cp for cp in range(0x4E00, 0x9FA6) if cp in readings), key=lambda c: (not level1(c), c))
    for single in (True, False):
        for cp in cps:
            if ("," not in readings[cp]) != single:
                continue
            try:
                syl = lyric_to_syllables(chr(cp))[0]
            except PhoneError:
                continue
            table.setdefault(syl, chr(cp))
    return table


def proxy_char(syllable: Tuple[str, str]) -> Optional[str]:
    """A character that pypinyin reads as ``syllable`` in any context (None when there is none)."""
    return _proxy_table().get(tuple(syllable))


def parse_line(text: str) -> List[Syllable]:
    """One sung line (characters, or pinyin syllables apart) -> its syllables; PhoneError naming the
    character or token that has no pinyin."""
    chars = lyric_chars(text)
    if not chars:
        raise PhoneError("empty line")
    if any(_is_cjk(c) for c in chars):
        foreign = [c for c in chars if not _is_cjk(c)]
        if foreign:
            raise PhoneError(f"character {foreign[0]!r} has no pinyin (a line is Chinese characters or pinyin, "
                             "not both)")
        sylls = lyric_to_syllables("".join(chars))
        return [Syllable(c, c, syllable_phones(s)) for c, s in zip(chars, sylls)]
    out = []
    for token in text.replace("'", " ").replace(",", " ").split():
        syl = parse_pinyin(token)
        label = proxy_char(syl)
        if label is None:
            raise PhoneError(f"pinyin {token!r} has no character to write it with")
        out.append(Syllable(token, label, syllable_phones(syl)))
    if not out:
        raise PhoneError("empty line")
    return out


def read_lyrics(path: Path) -> List[LyricLine]:
    """<song>.txt -> its sung lines; LyricsError naming ``path:line`` and the character for a line
    that cannot be converted, or the file when it is unreadable or holds no line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LyricsError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise LyricsError(f"{path}: unreadable ({e.strerror or e})") from None
    lines = []
    for no, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        try:
            lines.append(LyricLine(no, s, parse_line(s)))
        except PhoneError as e:
            raise LyricsError(f"{path}:{no}: lyric line {s!r}: {e}") from None
    if not lines:
        raise LyricsError(f"{path}: no lyric line (one sung line per text line)")
    return lines
