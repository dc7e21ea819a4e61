"""Merging lip ROI job reports and the excluded-fraction check of merge_lip_reports."""

import json
import logging

import numpy as np
import pytest

from espnet2_ext.bin import merge_lip_reports
from espnet2_ext.lip.report import job_report, merge_reports, utt_stats
from espnet2_ext.lip.roi import LipTrack


def fake_track(n, err_px, width=100.0, n_missing=0):
    gt = np.stack([np.linspace(50, 60, n), np.full(n, 80.0)], 1)
    sm = np.concatenate([gt + [err_px, 0.0], np.full((n, 1), width)], 1)
    det = np.ones(n, bool)
    det[:n_missing] = False
    raw = sm.copy()
    raw[~det] = np.nan
    return LipTrack(np.zeros((n, 96, 96), np.uint8), raw, det, det.copy(), sm, seconds=0.1), gt


def write_job(path, utts, excluded=()):
    entries = {}
    for name, (n, err, miss) in utts.items():
        tr, gt = fake_track(n, err, n_missing=miss)
        entries[name] = utt_stats(tr, gt, name)
    path.write_text(json.dumps(job_report(entries, list(excluded))))
    return path


def test_utt_stats_and_merge_totals(tmp_path):
    r1 = write_job(tmp_path / "r1.json", {"a_1": (10, 2.0, 2), "a_2": (30, 4.0, 0)})
    r2 = write_job(tmp_path / "r2.json", {"b_1": (10, 8.0, 0)}, [dict(utt="b_2", reason="no face: x.mp4")])
    merged = merge_reports([json.loads(r1.read_text()), json.loads(r2.read_text())])
    assert merged["num_utts"] == 4 and merged["num_excluded"] == 1
    assert merged["excluded_fraction"] == pytest.approx(0.25)
    assert merged["detection_rate"] == pytest.approx(48 / 50)
    assert merged["interpolated_frames"] == 2
    assert merged["face_width_px_median"] == pytest.approx(100.0)
    # errors are pooled over frames: 10 x 2 px, 30 x 4 px, 10 x 8 px
    assert merged["center_err_px_median"] == pytest.approx(4.0)
    assert merged["center_err_px_p95"] == pytest.approx(8.0)
    assert merged["center_err_frac_median"] == pytest.approx(0.04)
    assert "center_err_px" not in merged["utts"]["a_1"]  # per-frame arrays stay in the job reports
    assert merged["utts"]["a_1"]["detection_rate"] == pytest.approx(0.8)


def test_merge_cli_fails_over_max_fraction(tmp_path, caplog):
    r1 = write_job(tmp_path / "r1.json", {"a_1": (10, 1.0, 0)}, [dict(utt="a_2", reason="no face: a_2.mp4")])
    r2 = write_job(tmp_path / "r2.json", {"b_1": (10, 1.0, 0), "b_2": (10, 1.0, 0)})
    out = tmp_path / "lip_report.json"
    merge_lip_reports.main(["--reports", str(r1), str(r2), "--out", str(out), "--max_excluded_fraction", "0.25"])
    assert json.loads(out.read_text())["num_excluded"] == 1
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as ex:
        merge_lip_reports.main(["--reports", str(r1), str(r2), "--out", str(out), "--max_excluded_fraction", "0.2"])
    assert ex.value.code == 1
    assert "a_2" in caplog.text and "max_excluded_fraction" in caplog.text


def test_merge_cli_rejects_bad_and_duplicate_reports(tmp_path, caplog):
    r1 = write_job(tmp_path / "r1.json", {"a_1": (10, 1.0, 0)})
    r2 = write_job(tmp_path / "r2.json", {"a_1": (10, 1.0, 0)})
    bad = tmp_path / "bad.json"
    bad.write_text("{\n\"utts\": ")
    out = tmp_path / "o.json"
    for reports, needle in (([r1, r2], "a_1"), ([r1, bad], "bad.json"), ([r1, tmp_path / "gone.json"], "gone.json")):
        caplog.clear()
        with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
            merge_lip_reports.main(["--reports", *map(str, reports), "--out", str(out)])
        assert needle in caplog.text
    assert not out.exists()


def test_gt_length_mismatch_compares_common_frames():
    tr, gt = fake_track(12, 3.0)
    e = utt_stats(tr, gt[:10], "u")
    assert len(e["center_err_px"]) == 10 and np.allclose(e["center_err_px"], 3.0)
    with pytest.raises(ValueError, match="u"):
        utt_stats(tr, gt[:, :1], "u")
