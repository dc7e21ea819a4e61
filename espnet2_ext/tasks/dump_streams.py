"""The streams of a set's dump dir (stages 2-4) and which of them each use reads.

    dump/raw/<set>/<file>  -> (name, type) of VisualSVSTask's data     stats  train  decode
        text                  text      text                             x      x      x
        wav.scp               singing   sound                            x      x
        label                 label     duration                         x      x      x
        score.scp             score     score                            x      x      x
        pitch.scp             pitch     kaldi_ark                        x      x
        spembs.scp            spembs    kaldi_ark                               x      x
        lip.scp               lip       npy                                     lip    lip

``lip.scp`` goes to a training only when its system reads lips (SystemNeeds.reads_lips); decoding
takes it when the set has it. The shell gets these as arguments from espnet2_ext.bin.data_args.
"""

from pathlib import Path
from typing import List, NamedTuple, Tuple, Union

USES = ("stats", "train", "decode")


class Stream(NamedTuple):
    file: str
    name: str
    type: str
    uses: Tuple[str, ...]


STREAMS = (
    Stream("text", "text", "text", USES),
    Stream("wav.scp", "singing", "sound", ("stats", "train")),
    Stream("label", "label", "duration", USES),
    Stream("score.scp", "score", "score", USES),
    Stream("pitch.scp", "pitch", "kaldi_ark", ("stats", "train")),
    Stream("spembs.scp", "spembs", "kaldi_ark", ("train", "decode")),
    Stream("lip.scp", "lip", "npy", ("train", "decode")),
)
LIP_FILE = "lip.scp"


def streams_for(use: str, lip: bool = True) -> List[Stream]:
    """The streams ``use`` (stats, train, decode) reads; without ``lip`` never lip.scp."""
    if use not in USES:
        raise ValueError(f"dump streams: unknown use {use!r}; choose one of {USES}")
    return [s for s in STREAMS if use in s.uses and (lip or s.file != LIP_FILE)]


def triples(dump_dir: Union[str, Path], use: str, lip: bool = True, existing_only: bool = False) -> List[Tuple[str, str, str]]:
    """(path, name, type) of the streams of ``dump_dir`` that ``use`` reads (those present, with
    ``existing_only``), as espnet's ``--*_data_path_and_name_and_type`` takes them."""
    d = Path(dump_dir)
    return [(str(d / s.file), s.name, s.type) for s in streams_for(use, lip)
            if not existing_only or (d / s.file).is_file()]
