"""A user's lyrics and notes -> the model's phone-level inputs (no durations: those come from the lips).

    lyrics "月亮 SP 照在"  or "yue4 liang SP zhao zai"  (characters, pinyin, SP / AP rests)
      --characters: pypinyin strict over all characters at once (data/phones.py, as data prep);
        pinyin: pypinyin's strict initial/final split of each syllable-->
      syllables [Syllable("月", ["ve"]), Syllable("SP", ["SP"]), ...]
      --a leading / trailing SP where the lyrics give none (a video rarely starts on the first
        syllable)--> phones (N,)
    notes "A3 B3 60 F#3 Bb4" | [57, 59, ...] | a MusicXML / MIDI file (its pitch sequence only)
      --one MIDI number per sung syllable, 36..84--> per-phone MIDI (N,), 0 on SP / AP

Every error is a ``ScoreInputError`` naming the input and the syllable or note (1-based).
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple, Union

from espnet2_ext.api.errors import InputError
from espnet2_ext.data.phones import (BREATH, FINALS, INITIALS, SILENCE, PhoneError, lyric_chars, lyric_to_syllables,
                                     syllable_phones)

MIDI_RANGE = (36, 84)
_REST_TOKENS = {"sp": SILENCE, "ap": BREATH}
_PINYIN = re.compile(r"^[a-zü:]+[1-5]?$")
_NOTE_NAME = re.compile(r"^([A-Ga-g])([#♯b♭]*)(-?\d)$")
_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


class ScoreInputError(InputError):
    """Lyrics or notes that cannot become model input; the message names what to fix."""


@dataclass
class Syllable:
    """One sung syllable or rest of the lyrics."""

    text: str  # the character, the pinyin syllable, or SP / AP
    phones: List[str]

    @property
    def is_rest(self) -> bool:
        return self.phones in ([SILENCE], [BREATH])


def _pinyin_phones(token: str, pos: int, where: str) -> List[str]:
    from pypinyin import Style
    from pypinyin.style import convert

    syl = token.lower().replace("ü", "v").replace("u:", "v").rstrip("12345")
    ini = convert(syl, Style.INITIALS, strict=True)
    fin = convert(syl, Style.FINALS, strict=True)
    if not fin or fin not in FINALS or (ini and ini not in INITIALS):
        raise ScoreInputError(f"{where}: syllable {pos} {token!r} is not a Mandarin pinyin syllable "
                              f"(got initial {ini!r}, final {fin!r})")
    return syllable_phones((ini, fin))


def parse_lyrics(text: str, where: str = "--lyrics", pad: bool = True) -> List[Syllable]:
    """Lyrics -> syllables (see the module docstring); ``where`` names the input in errors."""
    tokens: List[Tuple[str, str]] = []  # (kind, text): rest | pinyin | char
    for word in text.split():
        if word.lower() in _REST_TOKENS:
            tokens.append(("rest", _REST_TOKENS[word.lower()]))
        elif _PINYIN.match(word.lower()):
            tokens.append(("pinyin", word))
        else:
            tokens += [("char", ch) for ch in lyric_chars(word)]
    if not any(kind != "rest" for kind, _ in tokens):
        raise ScoreInputError(f"{where}: the lyrics are empty (give Chinese characters or pinyin syllables)")
    chars = [t for kind, t in tokens if kind == "char"]
    char_phones: List[List[str]] = []
    if chars:  # one pypinyin call over all characters, as data prep converts a whole line
        try:
            char_phones = [syllable_phones(s) for s in lyric_to_syllables("".join(chars))]
        except PhoneError as e:
            pos = _failing_char(tokens, str(e))
            raise ScoreInputError(f"{where}: {e}" + (f" (syllable {pos})" if pos else "")) from e
    out, k = [], 0
    for pos, (kind, t) in enumerate(tokens, start=1):
        if kind == "rest":
            out.append(Syllable(t, [t]))
        elif kind == "pinyin":
            out.append(Syllable(t, _pinyin_phones(t, pos, where)))
        else:
            out.append(Syllable(t, char_phones[k]))
            k += 1
    if pad and not out[0].is_rest:
        out.insert(0, Syllable(SILENCE, [SILENCE]))
    if pad and not out[-1].is_rest:
        out.append(Syllable(SILENCE, [SILENCE]))
    return out


def _failing_char(tokens, message: str) -> int:
    m = re.search(r"character '(.)'", message)
    if not m:
        return 0
    return next((i for i, (kind, t) in enumerate(tokens, start=1) if kind == "char" and t == m.group(1)), 0)


def note_to_midi(token: Union[str, int], pos: int, where: str = "--notes") -> int:
    """``60`` / ``"60"`` / ``"C4"`` / ``"F#3"`` / ``"Bb4"`` -> MIDI number in MIDI_RANGE."""
    if isinstance(token, (int, float)) or str(token).lstrip("-").isdigit():
        midi = int(token)
    else:
        m = _NOTE_NAME.match(str(token).strip())
        if not m:
            raise ScoreInputError(f"{where}: note {pos} {token!r} is not a MIDI number or a note name "
                                  "(C4, F#3, Bb4; octave 4 holds middle C = 60)")
        letter, acc, octave = m.groups()
        midi = 12 * (int(octave) + 1) + _PITCH_CLASS[letter.lower()] + acc.count("#") + acc.count("♯") \
            - acc.count("b") - acc.count("♭")
    lo, hi = MIDI_RANGE
    if not lo <= midi <= hi:
        raise ScoreInputError(f"{where}: note {pos} {token!r} is MIDI {midi}, outside the range {lo}..{hi} "
                              "(C2..C6) the model sings")
    return midi


def parse_notes(notes: Union[str, Sequence[Union[str, int]]], where: str = "--notes") -> List[int]:
    """Note names or MIDI numbers (a string separated by spaces or commas, or a list) -> MIDI numbers."""
    tokens = notes.replace(",", " ").split() if isinstance(notes, str) else list(notes)
    if not tokens:
        raise ScoreInputError(f"{where}: no notes given")
    return [note_to_midi(t, i, where) for i, t in enumerate(tokens, start=1)]


def score_file_notes(path: Union[str, Path]) -> List[int]:
    """The pitch sequence of a MusicXML or MIDI file (first part; rests skipped, tied notes once,
    a chord by its top note); the note lengths are not used."""
    import music21

    path = Path(path)
    if not path.is_file():
        raise ScoreInputError(f"--score {path}: file not found")
    try:
        score = music21.converter.parse(str(path.absolute()))
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds on a bad file
        raise ScoreInputError(f"--score {path}: cannot read it as MusicXML or MIDI ({e})") from e
    part = score.parts[0] if getattr(score, "parts", None) else score
    out = []
    for n in part.recurse().notes:
        if n.tie is not None and n.tie.type in ("stop", "continue"):
            continue
        pitch = max(n.pitches, key=lambda p: p.midi) if n.isChord else n.pitch
        out.append(note_to_midi(int(pitch.midi), len(out) + 1, f"--score {path}"))
    if not out:
        raise ScoreInputError(f"--score {path}: no notes in its first part")
    return out


def phone_inputs(syllables: Sequence[Syllable], notes: Sequence[int], where: str = "--notes"
                 ) -> Tuple[List[str], List[int], List[int]]:
    """Syllables + one MIDI number per sung syllable -> phones (N,), per-phone MIDI (N,), phones per syllable."""
    sung = [s for s in syllables if not s.is_rest]
    if len(notes) != len(sung):
        raise ScoreInputError(f"{where}: {len(notes)} notes for {len(sung)} sung syllables (give one note per "
                              "syllable; SP / AP take none)")
    phones, midi, counts, k = [], [], [], 0
    for s in syllables:
        m = 0 if s.is_rest else notes[k]
        k += 0 if s.is_rest else 1
        phones += s.phones
        midi += [m] * len(s.phones)
        counts.append(len(s.phones))
    return phones, midi, counts
