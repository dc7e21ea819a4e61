"""Stage 3: merge the job reports of extract_lip_roi and check the excluded fraction.

    python -m espnet2_ext.bin.merge_lip_reports --reports report.1.json report.2.json ... \
        --out dump/raw/<set>/lip_report.json [--max_excluded_fraction 0.1]

Writes the merged report (totals over all frames, per-utterance summaries, the excluded list),
then exits with status 1 when more than --max_excluded_fraction of the utterances were excluded.
"""

import argparse
import logging
import sys

from espnet2_ext.lip.report import load_report, merge_reports, write_json_atomic


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--max_excluded_fraction", type=float, default=0.1)
    a = p.parse_args(argv)
    try:
        merged = merge_reports([load_report(r) for r in a.reports], a.reports)
    except ValueError as e:
        logging.error("%s", e)
        sys.exit(1)
    write_json_atomic(merged, a.out)
    keys = ("front_end", "num_utts", "num_excluded", "detection_rate", "detection_rate_unoccluded",
            "interpolated_frames", "face_width_px_median",
            "center_err_px_median", "center_err_px_p95", "center_err_frac_median", "center_err_frac_p95",
            "center_err_fw_median", "center_err_fw_p95", "roll_err_deg_median")
    logging.info("%s: %s", a.out, {k: merged.get(k) for k in keys})
    frac = merged["excluded_fraction"]
    if frac > a.max_excluded_fraction:
        names = ", ".join(f"{e['utt']} ({e['reason']})" for e in merged["excluded"][:10])
        logging.error("%d of %d utterances (%.1f%%) excluded, more than --max_excluded_fraction %.3g: %s%s",
                      merged["num_excluded"], merged["num_utts"], 100 * frac, a.max_excluded_fraction, names,
                      " ..." if merged["num_excluded"] > 10 else "")
        sys.exit(1)


if __name__ == "__main__":
    main()
