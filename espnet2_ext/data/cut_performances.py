"""Cut song-level performance videos into the utterance-level corpus layout (docs/data_contract.md).

    <raw>/<singer>/<song>.mp4 + <song>.segments (<utt> <start> <end>)
      --FFmpeg, same timestamps for both streams--> <corpus>/<singer>/<utt>.mp4 (video, H.264)
                                                   <corpus>/<singer>/<utt>.wav (audio track, mono PCM_16)
    <raw>/<singer>/<utt>.{TextGrid,notes} --copy--> <corpus>/<singer>/
"""

import shutil
from pathlib import Path
from typing import List, Tuple

from espnet2_ext.utils.ffmpeg import ffmpeg_file, ffmpeg_to


def read_segments(path: Path) -> List[Tuple[str, float, float, int]]:
    out = []
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            utt, st, et = parts[0], float(parts[1]), float(parts[2])
            if len(parts) != 3 or et <= st or st < 0:
                raise ValueError
        except (ValueError, IndexError):
            raise ValueError(f"{path}:{no}: expected '<utt> <start_sec> <end_sec>' with end > start, got {line!r}") from None
        out.append((utt, st, et, no))
    return out


def _ffmpeg(args: List[str], out: Path, what: str) -> None:
    ffmpeg_to(out, args, what)


def cut_performances(raw: Path, corpus: Path, fs: int = 0) -> int:
    """Cut every <song>.segments of ``raw`` into ``corpus``; returns the number of utterances."""
    raw, corpus = Path(raw), Path(corpus)
    n = 0
    for seg_file in sorted(raw.glob("*/*.segments")):
        singer = seg_file.parent.name
        song = seg_file.with_suffix(".mp4")
        if not song.is_file():
            raise ValueError(f"{song}: missing (named by {seg_file})")
        (corpus / singer).mkdir(parents=True, exist_ok=True)
        for utt, st, et, no in read_segments(seg_file):
            for ext in (".TextGrid", ".notes"):
                if not (seg_file.parent / (utt + ext)).is_file():
                    raise ValueError(f"{seg_file.parent / (utt + ext)}: missing (segment at {seg_file}:{no})")
            dst = corpus / singer / utt
            cut = ["-ss", f"{st:.6f}", "-i", ffmpeg_file(song), "-t", f"{et - st:.6f}"]
            _ffmpeg(cut + ["-map", "0:v:0", "-an", "-c:v", "libx264", "-preset", "medium", "-crf", "18",
                           "-pix_fmt", "yuv420p", "-r", "25", "-threads", "1", "-fflags", "+bitexact",
                           "-flags:v", "+bitexact"], dst.with_suffix(".mp4"), f"{seg_file}:{no} video")
            _ffmpeg(cut + ["-map", "0:a:0", "-vn", "-ac", "1", "-c:a", "pcm_s16le"] + (["-ar", str(fs)] if fs else [])
                    + ["-fflags", "+bitexact"], dst.with_suffix(".wav"), f"{seg_file}:{no} audio")
            for ext in (".TextGrid", ".notes"):
                shutil.copyfile(seg_file.parent / (utt + ext), dst.with_suffix(ext))
            n += 1
    if n == 0:
        raise ValueError(f"{raw}: no <singer>/<song>.segments found")
    return n
