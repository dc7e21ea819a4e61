#!/usr/bin/env python3
"""Does the user's path (a pack and ``perform``) give what the recipe measured (stages 3 and 7)?

    cd egs2/visualsinger/svs1   # after make demo
    python3 ../../../bench/bench_pack_path.py --pack exp/svs_performsinger/packed/performsinger.zip \
        --decode_dir exp/svs_performsinger/decode_fast_griffin_lim --sets test_newlyrics_ood test_ood

For every utterance of each set: ``Performer.from_pretrained(pack)`` reads the timing off the
set's video (``timing_only``, the inputs ``perform --from_utt`` takes: the video, the utterance's
own recording as the reference, the lyrics and notes of its data dir) and is compared with

    crops      stage 3's <dump>/<set>/lip.scp crops: equal byte for byte, else the mean |difference|
    durations  stage 7's <decode_dir>/<set>/durations: equal on every phone, else the mean |difference|

Prints one line per utterance and a summary; exits 1 when any utterance differs.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from espnet2_ext.utils.fileio import read_scp_dict


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pack", required=True)
    p.add_argument("--decode_dir", required=True, help="stage 7's decode dir of the packed system")
    p.add_argument("--dump", default="dump/raw", help="stage 2-3's dump dir (lip.scp)")
    p.add_argument("--data", default="data", help="stage 1's data dir (video, recording, lyrics, notes)")
    p.add_argument("--sets", nargs="+", default=["test_newlyrics_ood", "test_ood"])
    p.add_argument("--out", default=None, help="summary JSON")
    a = p.parse_args(argv)

    from espnet2_ext.api.data_utt import read_data_utt
    from espnet2_ext.api.performer import Performer

    performer = Performer.from_pretrained(a.pack)
    rows = []
    for dset in a.sets:
        data = Path(a.data) / dset
        lips = read_scp_dict(Path(a.dump) / dset / "lip.scp")
        stage7 = {k: [int(x) for x in v.split()] for k, v in read_scp_dict(Path(a.decode_dir) / dset / "durations").items()}
        for utt in sorted(stage7):
            u = read_data_utt(data, utt)
            perf = performer(u.video, u.lyrics, u.notes, u.reference, timing_only=True)
            crops = np.load(lips[utt])
            same_crops = perf.crops.shape == crops.shape and np.array_equal(perf.crops, crops)
            crop_diff = 0.0 if same_crops else (float(np.abs(perf.crops.astype(int) - crops).mean())
                                                if perf.crops.shape == crops.shape else float("nan"))
            d = perf.durations.tolist()
            same_d = d == stage7[utt]
            d_diff = 0.0 if same_d else (float(np.abs(np.subtract(d, stage7[utt])).mean())
                                         if len(d) == len(stage7[utt]) else float("nan"))
            rows.append(dict(set=dset, utt=utt, crops_equal=same_crops, crop_diff=crop_diff, durations_equal=same_d,
                             duration_diff_frames=d_diff, lip_confidence=perf.lip_confidence))
            print(f"{dset}\t{utt}\tcrops {'equal' if same_crops else f'differ by {crop_diff:.2f}'}\t"
                  f"durations {'equal' if same_d else f'differ by {d_diff:.2f} frames'}\t"
                  f"confidence {perf.lip_confidence}", flush=True)
    summary = dict(utterances=len(rows), crops_equal=sum(r["crops_equal"] for r in rows),
                   durations_equal=sum(r["durations_equal"] for r in rows),
                   front_end=performer.roi_conf["front_end"], rows=rows)
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))
    if a.out:
        Path(a.out).write_text(json.dumps(summary, indent=1) + "\n")
    sys.exit(0 if summary["crops_equal"] == summary["durations_equal"] == len(rows) else 1)


if __name__ == "__main__":
    main()
