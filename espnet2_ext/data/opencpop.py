"""Opencpop layout (espnet's egs2/opencpop/svs1/local/data_prep.py reads it the same way; docs/corpora.md).

    <root>/segments/{train,test}.txt   uid|lyrics|phns|notes|note_dur|phn_dur|slur, one utterance a line,
                                      the last five space-separated, one entry per phone
    <root>/segments/wavs/<uid>.wav

    train.txt --read_opencpop--> CorpusUtt per line (audio_corpus.py: to_record maps and checks it)

Only train.txt is read: test.txt is espnet's evaluation set of Opencpop. One singer: every
utterance's speaker is the corpus name (``opencpop`` unless --stage_one_corpora names it), its id
``<name>-<uid>``. Notes are Opencpop's names (``C#4/Db4``, ``rest``); note_dur is checked as
numbers, but the score takes its note spans from phn_dur, as the VisualSinger preparation does.
"""

from pathlib import Path
from typing import List, Sequence, Tuple

from espnet2_ext.data.audio_corpus import (CorpusUtt, ascii_id, midi_to_note_name, note_name_to_midi,
                                           parse_durations, parse_slurs)
from espnet2_ext.data.visualsinger import CorpusError

FIELDS = ("uid", "lyrics", "phns", "notes", "note_dur", "phn_dur", "slur")


def _parse_line(root: Path, name: str, where: str, line: str) -> CorpusUtt:
    fields = line.rstrip("\r\n").split("|")
    if len(fields) != len(FIELDS):
        raise ValueError(f"expected {len(FIELDS)} '|'-separated fields ({'|'.join(FIELDS)}), got {len(fields)}")
    uid, lyrics, phns, notes, note_dur, phn_dur, slur = (f.strip() for f in fields)
    if not uid or ascii_id(uid) != uid:
        raise ValueError(f"uid {uid!r} must be letters, digits and '-'")
    lists = {"phns": phns.split(), "notes": notes.split(), "note_dur": note_dur.split(),
             "phn_dur": phn_dur.split(), "slur": slur.split()}
    n = len(lists["phns"])
    if n == 0:
        raise ValueError("phns is empty")
    bad = [f"{len(v)} {k}" for k, v in lists.items() if len(v) != n]
    if bad:
        raise ValueError(f"{n} phns but {', '.join(bad)} (one entry per phone in each field)")
    midis = []
    for k, note in enumerate(lists["notes"], start=1):
        try:
            midis.append(note_name_to_midi(note))
        except ValueError as e:
            raise ValueError(f"notes {k}: {e}") from None
    parse_durations(lists["note_dur"], "note_dur")
    durs = parse_durations(lists["phn_dur"], "phn_dur")
    slurs = parse_slurs(lists["slur"], "slur")
    return CorpusUtt(where, f"{name}-{uid}", name, root / "segments" / "wavs" / f"{uid}.wav", lyrics,
                     lists["phns"], midis, durs, slurs)


def read_opencpop(root: Path, name: str = "opencpop", split: str = "train") -> Tuple[List[CorpusUtt], List[str]]:
    """(parsed lines, errors "<file>:<line>: ...") of segments/<split>.txt; a missing file is a CorpusError."""
    root = Path(root)
    txt = root / "segments" / f"{split}.txt"
    if not txt.is_file():
        raise CorpusError(f"{txt}: missing (Opencpop layout: segments/{{train,test}}.txt, segments/wavs/<uid>.wav)")
    try:
        lines = txt.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"{txt}: cannot read ({e})") from e
    utts, errors, seen = [], [], {}
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{txt}:{no}"
        try:
            u = _parse_line(root, name, where, line)
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        if u.utt in seen:
            errors.append(f"{where}: uid {u.utt.split('-', 1)[1]!r} already on line {seen[u.utt]}")
            continue
        seen[u.utt] = no
        utts.append(u)
    return utts, errors


def opencpop_line(uid: str, lyrics: str, phones: Sequence[str], midis: Sequence[int], note_durs: Sequence[float],
                  durs: Sequence[float], slurs: Sequence[int]) -> str:
    """One line of segments/<split>.txt (the demo generator writes the layout with it)."""
    return "|".join([uid, lyrics, " ".join(phones), " ".join(midi_to_note_name(m) for m in midis),
                     " ".join(f"{d:.6f}" for d in note_durs), " ".join(f"{d:.6f}" for d in durs),
                     " ".join(str(s) for s in slurs)]) + "\n"
