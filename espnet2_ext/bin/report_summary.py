"""One log line of a stage's JSON report, for svs.sh.

    python -m espnet2_ext.bin.report_summary --lip_report dump/raw/test/lip_report.json
        -> {'front_end': 'haar', 'detection_rate': 1.0, ...}          (stage 3, merge_lip_reports)
    python -m espnet2_ext.bin.report_summary --lip_pretrain_log exp/lip_pretrain/log.json
        -> best valid frame acc 0.412 (epoch 3), chance 0.105         (stage 5, pretrain_lip_encoder)

A report that cannot be read prints an empty line (the log line stays; the stage does not fail on it).
"""

import argparse
import json
import sys
from typing import List, Optional

LIP_REPORT_KEYS = ("front_end", "detection_rate", "center_err_px_median", "center_err_px_p95",
                   "center_err_fw_median", "roll_err_deg_median", "face_width_px_median")


def lip_report_line(report: dict) -> str:
    return str({k: report.get(k) for k in LIP_REPORT_KEYS})


def lip_pretrain_line(log: dict) -> str:
    best = max(e["valid_frame_acc"] for e in log["epochs"])
    return f"best valid frame acc {best:.3f} (epoch {log['best_epoch']}), chance {log['chance']:.3f}"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--lip_report", help="lip_report.json of stage 3")
    g.add_argument("--lip_pretrain_log", help="log.json of the lip-reading pretraining")
    a = p.parse_args(argv)
    path, line = (a.lip_report, lip_report_line) if a.lip_report else (a.lip_pretrain_log, lip_pretrain_line)
    try:
        with open(path, encoding="utf-8") as f:
            print(line(json.load(f)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"{path}: no summary ({e})", file=sys.stderr)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
