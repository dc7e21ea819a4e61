"""perform's inputs taken from one utterance of a stage-1 data dir (``perform --from_utt``).

    <data_dir>/video.scp   <utt> <video.mp4>       -> video
    <data_dir>/wav.scp     <utt> <recording.wav>   -> reference (the utterance's own voice)
    <video>.TextGrid       tier 'words', without the rests at either end -> lyrics
    <data_dir>/score.scp   <utt> <score json>      -> notes: the MIDI numbers of its sung notes
    <data_dir>/text        <utt> <phones>          -> the utterance chosen when none is named: the
                                                      first whose phones the model's token list has

Errors are InputErrors naming the file (and line) and what to pass instead.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Optional, Union

from espnet2_ext.api.errors import InputError
from espnet2_ext.utils.fileio import read_scp, read_scp_dict


@dataclass
class DataUtt:
    utt: str
    video: str
    reference: str
    lyrics: str
    notes: str


def _table(data_dir: Path, name: str) -> dict:
    path = data_dir / name
    if not path.is_file():
        raise InputError(f"--from_utt {data_dir}: no {name} (pass a stage-1 data dir, e.g. data/test_ood)")
    try:
        return read_scp_dict(path)
    except ValueError as e:
        raise InputError(str(e)) from None


def first_covered_utt(data_dir: Union[str, Path], tokens: Collection[str]) -> str:
    """The first utterance of ``<data_dir>/text`` whose phones are all in ``tokens``."""
    path = Path(data_dir) / "text"
    _table(Path(data_dir), "text")  # exists and parses
    for utt, phones in read_scp(path):
        if set(phones.split()) <= set(tokens):
            return utt
    raise InputError(f"{path}: no utterance whose phones the model's token list ({len(tokens)} tokens) has all of; "
                     "name one: --from_utt DATA_DIR UTT")


def _lyrics(textgrid: Path) -> str:
    from espnet2_ext.data.textgrid_io import TextGridError, read_textgrid
    from espnet2_ext.data.visualsinger import REST_WORDS

    try:
        words = [iv.text.strip() for iv in read_textgrid(textgrid).get("words", [])]
    except (OSError, TextGridError) as e:
        raise InputError(f"{textgrid}: cannot read the lyrics ({e})") from None
    while words and words[0].lower() in REST_WORDS:
        words.pop(0)
    while words and words[-1].lower() in REST_WORDS:
        words.pop()
    if not words:
        raise InputError(f"{textgrid}: tier 'words' holds no lyrics")
    return " ".join(words)


def _notes(score_json: str) -> str:
    try:
        with open(score_json, encoding="utf-8") as f:
            notes = json.load(f)["note"]
        midi = [int(n[3]) for n in notes]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise InputError(f"{score_json}: not an espnet score json ({e})") from None
    return " ".join(str(m) for m in midi if m > 0)


def read_data_utt(data_dir: Union[str, Path], utt: Optional[str] = None,
                  tokens: Optional[Collection[str]] = None) -> DataUtt:
    """The video, reference, lyrics and notes of ``utt`` (None: ``first_covered_utt(data_dir, tokens)``)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"--from_utt {data_dir}: not a directory (pass a stage-1 data dir, e.g. data/test_ood)")
    if utt is None:
        if tokens is None:
            raise InputError("--from_utt DATA_DIR without UTT needs the model's token list")
        utt = first_covered_utt(data_dir, tokens)
    tables = {name: _table(data_dir, name) for name in ("video.scp", "wav.scp", "score.scp")}
    for name, table in tables.items():
        if utt not in table:
            raise InputError(f"{data_dir / name}: no utterance {utt!r}")
    video = tables["video.scp"][utt]
    return DataUtt(utt, video, tables["wav.scp"][utt], _lyrics(Path(video).with_suffix(".TextGrid")),
                   _notes(tables["score.scp"][utt]))
