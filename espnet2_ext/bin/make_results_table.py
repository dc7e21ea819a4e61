#!/usr/bin/env python3
"""One markdown table of every scored decode directory (the paper's Table 1/3 columns).

    exp/*/decode_*/*/scores.json (+ --gt_scores files) -> rows (system, decode tag, timing, set)
      columns: MCD (c0 included, ESPnet's definition: the headline), MCD without c0, FFE, Cos,
      LSE-C, LSE-D, dur MAE (frames), boundary hit @40 ms of the inner boundaries (the headline:
      video-driven timing fixes the first and last) and of all (inner + final), #utts
      timing: where the decode's phone durations came from (scores.json "timing"): the lip-reading
      heads, the duration predictor (the paper's path), ..., or "fixed: <system>/<decode tag>" for
      a decode that took another decode's durations (the fusion control: the stage-one model with
      the stage-two system's timing)
      GT rows (system "gt" or --gt_scores) first; null -> "n/a" with a numbered footnote (reason)
    seeds: exp dirs svs_x_seed<k> (``./run.sh --tag x_seed<k> --train_args "--seed <k>"``) join
      svs_x (seed 0) in a second table: mean and sample standard deviation over the seeds, per
      (system, decode tag, set), when a system has >= 2 of them
    -> --out (RESULTS.md), written atomically

Usage:
    python -m espnet2_ext.bin.make_results_table --exp_dir exp --out exp/RESULTS.md [--gt_scores f.json ...]
"""

import argparse
import json
import logging
import re
import statistics
from pathlib import Path
from typing import Dict, List, Tuple

from espnet2_ext.utils.fileio import atomic_write_text

COLUMNS: List[Tuple[str, str, str]] = [
    ("mcd", "MCD (dB) ↓", "{:.2f}"), ("mcd_no_c0", "MCD w/o c0 (dB) ↓", "{:.2f}"),
    ("ffe", "FFE ↓", "{:.3f}"), ("cos", "Cos ↑", "{:.3f}"),
    ("lse_c", "LSE-C ↑", "{:.2f}"), ("lse_d", "LSE-D ↓", "{:.2f}"),
    ("dur_mae_frames", "Dur MAE (frames) ↓", "{:.2f}"),
    ("boundary_hit_40ms", "Bound. hit 40 ms, inner ↑", "{:.3f}"),
    ("boundary_hit_40ms_all", "Bound. hit 40 ms, all ↑", "{:.3f}"),
]
TIMING_NAMES = {
    "lipreader": "lip-reading heads", "predictor": "duration predictor", "attention": "fusion attention",
    "aligner": "lip-to-phone aligner", "HPMDubbing": "lip-text attention",
}


LEGEND = """\
MCD: mel-cepstral distortion after DTW with c0 (ESPnet's definition, the headline); MCD w/o c0: the
same along the same path without c0 (the energy term). Bound. hit 40 ms, inner: fraction of the
inner phone boundaries within 40 ms (the headline: video-driven timing fixes the first and the
last by the video's length); all: inner + final. Timing: where the decode's phone durations came
from: lip-reading heads (forced alignment of the lip-reading posteriors), duration predictor (the
paper's path: conf/decode_predictor.yaml for a visual system, the only one of the no-video
model), or fixed: <system>/<decode> (that decode's durations imposed: the no-video model with the
stage-two system's timing isolates what the fusion module adds to MCD / FFE / Cos).
"""


def timing_name(scores: Dict) -> str:
    """Readable timing source of a row ("-" for the ground truth or when unknown)."""
    t = scores.get("timing")
    if not t:
        return "-"
    if t.startswith("fixed:"):
        parts = Path(t[len("fixed:"):]).parts
        return f"fixed: {parts[-4]}/{parts[-3]}" if len(parts) >= 4 else f"fixed: {t[len('fixed:'):]}"
    return TIMING_NAMES.get(t, t)


def collect(exp_dir: Path, gt_scores: List[str]) -> List[Dict]:
    """Rows {system, tag, set, scores} sorted GT first, then system, tag, set."""
    rows = []
    for path in sorted(exp_dir.glob("*/decode_*/*/scores.json")):
        system, tag, dset = path.parts[-4], path.parts[-3], path.parts[-2]
        rows.append({"system": system, "tag": tag, "set": dset, "path": str(path)})
    for p in gt_scores:
        rows.append({"system": "gt", "tag": "--gt", "set": Path(p).parent.name, "path": p})
    for r in rows:
        try:
            with open(r["path"], encoding="utf-8") as f:
                r["scores"] = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{r['path']}: unreadable scores file ({e})") from e
        if r["scores"].get("gt_mode"):
            r["system"] = "gt"
    rows.sort(key=lambda r: (r["system"] != "gt", r["system"], r["tag"], r["set"]))
    return rows


def render(rows: List[Dict]) -> str:
    """Markdown table with footnotes for the n/a cells."""
    notes: Dict[str, int] = {}
    head = "| System | Decode | Timing | Set | " + " | ".join(c[1] for c in COLUMNS) + " | #utts |"
    sep = "|" + "---|" * (len(COLUMNS) + 5)
    lines = [head, sep]
    for r in rows:
        s = r["scores"]
        cells = []
        for key, _, fmt in COLUMNS:
            v = s.get(key)
            if v is None:
                reason = s.get(key + "_reason", "not computed")
                notes.setdefault(reason, len(notes) + 1)
                cells.append(f"n/a[^{notes[reason]}]")
            else:
                cells.append(fmt.format(v))
        name = "GT (vocoded)" if r["system"] == "gt" and r["tag"] != "--gt" else \
            "GT (self)" if r["system"] == "gt" else r["system"]
        lines.append(f"| {name} | {r['tag']} | {timing_name(s)} | {r['set']} | " + " | ".join(cells)
                     + f" | {s.get('num_utts', '?')} |")
    if not rows:
        lines.append("| (no scores.json found) |" + " |" * (len(COLUMNS) + 4))
    out = "# Results\n\n" + LEGEND + "\n" + "\n".join(lines) + "\n"
    if notes:
        out += "\n" + "\n".join(f"[^{i}]: {reason}" for reason, i in notes.items()) + "\n"
    return out


SEED_RE = re.compile(r"^(?P<base>.+)_seed(?P<seed>\d+)$")


def seed_groups(rows: List[Dict]) -> Dict[Tuple[str, str, str], List[Dict]]:
    """(base system, tag, set) -> its rows over seeds: svs_x (seed 0) and every svs_x_seed<k>;
    only groups with at least two seeds."""
    bases = {m.group("base") for r in rows if (m := SEED_RE.match(r["system"]))}
    groups: Dict[Tuple[str, str, str], List[Dict]] = {}
    for r in rows:
        m = SEED_RE.match(r["system"])
        base = m.group("base") if m else r["system"]
        if base in bases and r["system"] != "gt":
            groups.setdefault((base, r["tag"], r["set"]), []).append(r)
    return {k: v for k, v in sorted(groups.items()) if len(v) >= 2}


def render_seeds(groups: Dict[Tuple[str, str, str], List[Dict]]) -> str:
    """Markdown table of mean ± sample sd over seeds ("" without groups); n/a where a seed lacks a value."""
    if not groups:
        return ""
    head = "| System | Decode | Timing | Set | #seeds | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = ["## Mean ± sd over training seeds", "", head, "|" + "---|" * (len(COLUMNS) + 5)]
    for (base, tag, dset), rs in groups.items():
        cells = []
        for key, _, fmt in COLUMNS:
            vals = [r["scores"].get(key) for r in rs]
            if any(v is None for v in vals):
                cells.append("n/a")
            else:
                cells.append(fmt.format(statistics.mean(vals)) + " ± " + fmt.format(statistics.stdev(vals)))
        lines.append(f"| {base} | {tag} | {timing_name(rs[0]['scores'])} | {dset} | {len(rs)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(cmd=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--gt_scores", nargs="*", default=[], help="scores.json files of --gt runs")
    args = parser.parse_args(cmd)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    rows = collect(Path(args.exp_dir), args.gt_scores)
    text = render(rows)
    seeds = render_seeds(seed_groups(rows))
    if seeds:
        text += "\n" + seeds
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, text)
    logging.info("wrote %s (%d rows)", out, len(rows))


if __name__ == "__main__":
    main()
