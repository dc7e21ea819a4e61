"""M4Singer layout (espnet's egs2/m4singer/svs1/local/data_prep.py reads it the same way; docs/corpora.md).

    <root>/meta.json                     [{item_name, txt, phs, notes, notes_dur, ph_dur, is_slur}, ...]
                                         item_name <singer>#<song>#<idx>; the lists one entry per phone
    <root>/<singer>#<song>/<idx>.wav

    meta.json --read_m4singer--> CorpusUtt per training item (audio_corpus.py: to_record maps and checks it)

The items espnet holds out of M4Singer's training (after sorting the names and shuffling them with
Python's random.seed(1234): the first 100 its eval set, the next 100 its dev set; 5 % each for a
corpus of under 2,000 items) are left out here too. Speakers ``<name>-<singer>``, utterance ids
``<name>-<singer>-<song>-<idx>`` with every character outside letters, digits and '-' written as
U<hex> (the song names are Chinese). Notes are MIDI numbers, 0 a rest; notes_dur is checked as
numbers, but the score takes its note spans from ph_dur, as the VisualSinger preparation does.
"""

import json
import random
from pathlib import Path
from typing import List, Sequence, Tuple

from espnet2_ext.data.audio_corpus import CorpusUtt, ascii_id, check_midi, parse_durations, parse_slurs
from espnet2_ext.data.visualsinger import CorpusError

FIELDS = ("item_name", "txt", "phs", "notes", "notes_dur", "ph_dur", "is_slur")
PER_PHONE = ("phs", "notes", "notes_dur", "ph_dur", "is_slur")
ESPNET_SEED = 1234
ESPNET_HELD_OUT = 100  # items of espnet's eval set, and again of its dev set


def held_out(names: Sequence[str]) -> set:
    """The item names espnet's M4Singer recipe puts in its eval and dev sets."""
    order = sorted(names)
    random.Random(ESPNET_SEED).shuffle(order)  # the draws of random.seed(1234); random.shuffle(...)
    n = min(ESPNET_HELD_OUT, len(order) // 20)
    return set(order[:2 * n])


def _parse_item(root: Path, name: str, where: str, item) -> CorpusUtt:
    if not isinstance(item, dict):
        raise ValueError(f"expected an object with fields {', '.join(FIELDS)}, got {type(item).__name__}")
    missing = [f for f in FIELDS if f not in item]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    parts = item["item_name"].split("#") if isinstance(item["item_name"], str) else []
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"item_name {item['item_name']!r} is not <singer>#<song>#<idx>")
    singer, song, idx = parts
    if not isinstance(item["txt"], str):
        raise ValueError(f"txt {item['txt']!r} is not a string")
    bad = [f for f in PER_PHONE if not isinstance(item[f], list)]
    if bad:
        raise ValueError(f"field(s) {', '.join(bad)} are not lists")
    n = len(item["phs"])
    if n == 0:
        raise ValueError("phs is empty")
    counts = [f"{len(item[f])} {f}" for f in PER_PHONE if len(item[f]) != n]
    if counts:
        raise ValueError(f"{n} phs but {', '.join(counts)} (one entry per phone in each field)")
    phones = item["phs"]
    for k, p in enumerate(phones, start=1):
        if not isinstance(p, str) or not p.strip() or p != p.strip():
            raise ValueError(f"phs {k} {p!r} is not a phone")
    midis = []
    for k, m in enumerate(item["notes"], start=1):
        if isinstance(m, bool) or not isinstance(m, (int, float)) or m != int(m):
            raise ValueError(f"notes {k} {m!r} is not a MIDI number")
        try:
            midis.append(check_midi(int(m)))
        except ValueError as e:
            raise ValueError(f"notes {k}: {e}") from None
    parse_durations(item["notes_dur"], "notes_dur")
    durs = parse_durations(item["ph_dur"], "ph_dur")
    slurs = parse_slurs(item["is_slur"], "is_slur")
    spk = f"{name}-{ascii_id(singer)}"
    return CorpusUtt(where, f"{spk}-{ascii_id(song)}-{ascii_id(idx)}", spk, root / f"{singer}#{song}" / f"{idx}.wav",
                     item["txt"], phones, midis, durs, slurs)


def read_m4singer(root: Path, name: str = "m4singer", training_only: bool = True) -> Tuple[List[CorpusUtt], List[str]]:
    """(parsed training items, errors "<meta.json>: item <k> (...): ...") of meta.json (k: the 0-based
    index in its list); a missing or unparsable meta.json is a CorpusError."""
    root = Path(root)
    meta = root / "meta.json"
    if not meta.is_file():
        raise CorpusError(f"{meta}: missing (M4Singer layout: meta.json, <singer>#<song>/<idx>.wav)")
    try:
        items = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusError(f"{meta}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"{meta}: cannot read ({e})") from e
    if not isinstance(items, list):
        raise CorpusError(f"{meta}: expected a list of items, got {type(items).__name__}")
    names = [it["item_name"] for it in items if isinstance(it, dict) and isinstance(it.get("item_name"), str)]
    skip = held_out(names) if training_only else set()
    utts, errors, seen = [], [], {}
    for k, item in enumerate(items):
        item_name = item.get("item_name") if isinstance(item, dict) else None
        where = f"{meta}: item {k}" + (f" ({item_name})" if isinstance(item_name, str) else "")
        if item_name in skip:
            continue
        try:
            u = _parse_item(root, name, where, item)
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        if u.utt in seen:
            errors.append(f"{where}: the same utterance as item {seen[u.utt]}")
            continue
        seen[u.utt] = k
        utts.append(u)
    return utts, errors


def m4singer_item(singer: str, song: str, idx: str, txt: str, phones: Sequence[str], midis: Sequence[int],
                  note_durs: Sequence[float], durs: Sequence[float], slurs: Sequence[int]) -> dict:
    """One meta.json item (the demo generator writes the layout with it)."""
    return {"item_name": f"{singer}#{song}#{idx}", "txt": txt, "phs": list(phones), "notes": [int(m) for m in midis],
            "notes_dur": [round(float(d), 6) for d in note_durs], "ph_dur": [round(float(d), 6) for d in durs],
            "is_slur": [int(s) for s in slurs]}
