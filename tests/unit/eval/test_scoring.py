"""Stage 8 CLIs on a tiny decode dir written here: score_svs, plots, results table, listening kit."""

import csv
import json

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.bin import make_listening_kit, make_results_table, score_svs
from espnet2_ext.eval.scoring import METRICS

torch.set_num_threads(1)
FS, HOP = 22050, 256


def tone(f0, seconds=1.2):
    t = np.arange(int(seconds * FS)) / FS
    env = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    return (0.2 * env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))).astype(np.float32)


@pytest.fixture()
def dirs(tmp_path):
    ref = tmp_path / "dump" / "test"
    dec = tmp_path / "exp" / "svs_x" / "decode_y" / "test"
    for d in (ref / "wav", dec / "wav", dec / "video", ref / "lip", ref / "score"):
        d.mkdir(parents=True)
    utts = {"s_a": 220.0, "s_b": 260.0}
    rng = np.random.default_rng(0)
    with kaldiio.WriteHelper(f"ark,scp:{ref}/spembs.ark,{ref}/spembs.scp") as w:
        for u in utts:
            w(u, rng.standard_normal(256).astype(np.float32))
    with open(ref / "wav.scp", "w") as fw, open(ref / "label", "w") as fl, open(ref / "lip.scp", "w") as fp, \
            open(ref / "score.scp", "w") as fs_, open(dec / "wav.scp", "w") as gw, open(dec / "durations", "w") as gd:
        for u, f0 in utts.items():
            sf.write(ref / "wav" / f"{u}.wav", tone(f0), FS)
            fw.write(f"{u} {ref / 'wav' / (u + '.wav')}\n")
            fl.write(f"{u} 0.0 0.3 SP 0.3 0.9 a 0.9 1.2 SP\n")
            np.save(ref / "lip" / f"{u}.npy", rng.integers(0, 255, (30, 96, 96), dtype=np.uint8))
            fp.write(f"{u} {ref / 'lip' / (u + '.npy')}\n")
            json.dump({"note": [[0.0, 0.3, "SP", 0, "SP"], [0.3, 0.9, "a", 57, "a"], [0.9, 1.2, "SP", 0, "SP"]]},
                      open(ref / "score" / f"{u}.json", "w"))
            fs_.write(f"{u} {ref / 'score' / (u + '.json')}\n")
            # s_a: generated == GT; s_b: 30 % sharp
            sf.write(dec / "wav" / f"{u}.wav", tone(f0 if u == "s_a" else f0 * 1.3), FS)
            gw.write(f"{u} wav/{u}.wav\n")  # relative path: resolved against the decode dir
            gd.write(f"{u} 26 52 26\n")
            (dec / "video" / f"{u}.mp4").write_bytes(b"fake mp4")
    np.save(tmp_path / "attn.npy", np.ones((3, 30)))
    (dec / "attn").mkdir()
    np.save(dec / "attn" / "s_a.npy", rng.random((3, 30)))
    return tmp_path, ref, dec


def test_score_cli_table_and_kit(dirs):
    root, ref, dec = dirs
    (ref / "ref_utt").write_text("s_a s_a\ns_b s_b\n")  # setting 1: each its own recording, so MCD is scored
    (dec / "timing").write_text("s_a lipreader\ns_b lipreader\n")
    score_svs.main(["--decode_dir", str(dec), "--ref_dir", str(ref), "--fs", str(FS), "--hop_length", str(HOP),
                    "--plots", "1", "--out", "scores.json"])
    scores = json.load(open(dec / "scores.json"))
    for k in METRICS:
        assert k in scores
    assert scores["num_utts"] == 2
    assert scores["lse_c"] is None and "no SyncNet weights" in scores["lse_c_reason"]
    rows = {r["utt"]: r for r in map(json.loads, open(dec / "scores_per_utt.jsonl"))}
    assert rows["s_a"]["mcd"] == pytest.approx(0.0, abs=1e-6) and rows["s_a"]["ffe"] == 0.0
    assert rows["s_b"]["mcd"] > 1.0 and rows["s_b"]["ffe"] > 0.5
    assert rows["s_a"]["mcd_no_c0"] == pytest.approx(0.0, abs=1e-6)
    assert 0.0 < rows["s_b"]["mcd_no_c0"] <= rows["s_b"]["mcd"]
    assert scores["timing"] == "lipreader"
    assert -1.0 <= rows["s_a"]["cos"] <= 1.0
    # label 0.3/0.9/1.2 s -> 26, 52, 26 frames (rounded boundaries 26, 78, 103 -> 26, 52, 25)
    assert scores["dur_mae_frames"] == pytest.approx(1 / 3)
    assert scores["boundary_hit_40ms"] == 1.0 and scores["boundary_hit_40ms_all"] == 1.0
    assert (dec / "plots" / "s_a.png").stat().st_size > 1000

    # the GT sanity row: reference wavs against themselves
    gt_dir = root / "exp" / "gt_self"
    gt_dir.mkdir()
    score_svs.main(["--decode_dir", str(gt_dir), "--ref_dir", str(ref), "--fs", str(FS), "--hop_length", str(HOP),
                    "--gt", "--out", str(gt_dir / "scores.json")])
    gt = json.load(open(gt_dir / "scores.json"))
    assert gt["mcd"] == pytest.approx(0.0, abs=1e-6) and gt["ffe"] == 0.0 and gt["dur_mae_frames"] == 0.0

    # a reference set: no target-timbre GT -> MCD/FFE null with a reason, Cos still computed
    (ref / "ref_utt").write_text("s_a s_b\ns_b s_a\n")
    dec2 = root / "exp" / "svs_x" / "decode_y" / "test_ref2"
    dec2.mkdir()
    (dec2 / "wav.scp").write_text((dec / "wav.scp").read_text().replace("wav/", f"{dec}/wav/"))
    score_svs.main(["--decode_dir", str(dec2), "--ref_dir", str(ref), "--fs", str(FS), "--hop_length", str(HOP)])
    r2 = json.load(open(dec2 / "scores.json"))
    assert r2["mcd"] is None and "reference set" in r2["mcd_reason"] and r2["cos"] is not None
    assert r2["dur_mae_frames"] is None and r2["dur_mae_frames_reason"]

    # results table
    make_results_table.main(["--exp_dir", str(root / "exp"), "--out", str(root / "RESULTS.md"),
                             "--gt_scores", str(gt_dir / "scores.json")])
    text = (root / "RESULTS.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| System | Decode | Timing | Set | MCD (dB) ↓ | MCD w/o c0 (dB) ↓")
    assert "Bound. hit 40 ms, inner ↑ | Bound. hit 40 ms, all ↑" in lines[0]
    assert lines[1].startswith("| GT (self)")  # GT first
    assert "| svs_x | decode_y | lip-reading heads | test |" in text and "| svs_x | decode_y | - | test_ref2 |" in text
    assert "n/a[^" in text and "no SyncNet weights" in text
    assert f"{scores['mcd']:.2f}" in text
    assert all(line.count("|") == lines[0].count("|") for line in lines)

    # listening kit
    kit = root / "kit"
    make_listening_kit.main(["--decode_dirs", str(dec), str(dec2), "--out", str(kit), "--n", "2", "--seed", "0"])
    key = list(csv.DictReader(open(kit / "answer_key.csv")))
    assert len(key) == 4 and {r["set"] for r in key} == {"test", "test_ref2"}
    assert len(list((kit / "samples").glob("*.wav"))) == 4 and len(list((kit / "samples").glob("*.mp4"))) == 2
    sheet = list(csv.reader(open(kit / "rating_sheet.csv")))
    assert sheet[0][:5] == ["id", "MOS-Q", "MOS-N", "MOS-S", "MOS-M"] and len(sheet) == 5
    assert all("s_" not in r["id"] for r in key)  # anonymised ids
    with pytest.raises(FileExistsError):
        make_listening_kit.main(["--decode_dirs", str(dec), "--out", str(kit)])


def test_score_several_dirs_in_one_process(dirs):
    """Paired --decode_dir / --ref_dir: each dir gets the scores of a call of its own, and its own log."""
    root, ref, dec = dirs
    dec2 = root / "exp" / "svs_z" / "decode_y" / "test"
    dec2.mkdir(parents=True)
    (dec2 / "wav.scp").write_text((dec / "wav.scp").read_text().replace("wav/", f"{dec}/wav/"))
    (dec2 / "durations").write_text("s_a 20 58 26\ns_b 26 52 26\n")
    common = ["--fs", str(FS), "--hop_length", str(HOP)]
    score_svs.main(["--decode_dir", str(dec), "--ref_dir", str(ref)] + common)
    alone = json.load(open(dec / "scores.json"))
    (dec / "scores.json").unlink()
    score_svs.main(["--decode_dir", str(dec), "--ref_dir", str(ref), "--decode_dir", str(dec2), "--ref_dir", str(ref),
                    "--log_file", "logs/score.log"] + common)
    both = json.load(open(dec / "scores.json")), json.load(open(dec2 / "scores.json"))
    for k in METRICS:
        assert both[0][k] == alone[k], k
    assert both[1]["dur_mae_frames"] > both[0]["dur_mae_frames"]  # dec2's own durations were scored
    log1, log2 = (dec / "logs" / "score.log").read_text(), (dec2 / "logs" / "score.log").read_text()
    assert str(dec2) not in log1 and f"wrote {dec2}" in log2
    with pytest.raises(SystemExit):
        score_svs.main(["--decode_dir", str(dec), "--decode_dir", str(dec2), "--ref_dir", str(ref)] + common)
    with pytest.raises(SystemExit):
        score_svs.main(["--decode_dir", str(dec), "--ref_dir", str(ref), "--decode_dir", str(dec2), "--ref_dir", str(ref),
                        "--out", str(root / "x.json")] + common)
    assert not (root / "x.json").exists()


def test_scorer_null_reasons_without_optional_parts(tmp_path):
    from espnet2_ext.eval.scoring import Scorer, aggregate

    (tmp_path / "config.json").write_text("{}")
    sc = Scorer(FS, HOP, wavlm_dir=str(tmp_path))
    wav = tone(220.0, 0.5)
    row = sc.score(wav, None, "no GT here", None, wav, None, None, None)
    assert row["mcd"] is None and row["mcd_reason"] == "no GT here"
    assert row["lse_d"] is None and "no SyncNet weights" in row["lse_d_reason"]
    assert row["dur_mae_frames"] is None
    try:
        import transformers  # noqa: F401
    except ImportError:
        assert row["cos"] is None and "transformers" in row["cos_reason"]
    agg = aggregate([row, dict(row, mcd=2.0)])
    assert agg["mcd"] == 2.0 and agg["mcd_num_utts"] == 1 and agg["num_utts"] == 2
    assert agg["lse_c"] is None and "no SyncNet weights" in agg["lse_c_reason"]


def test_reference_cache_gives_the_same_scores(tmp_path):
    from espnet2_ext.eval.scoring import Scorer

    ref, gen = tone(220.0), tone(250.0)
    plain = Scorer(FS, HOP).score(gen, ref, "", None, None, None, None, None)
    cache = tmp_path / "cache"
    first = Scorer(FS, HOP, cache_dir=str(cache)).score(gen, ref, "", None, None, None, None, None)
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 1 and not list(cache.glob("*.tmp*"))
    second = Scorer(FS, HOP, cache_dir=str(cache)).score(gen, ref, "", None, None, None, None, None)
    assert plain["mcd"] > 0 and first["mcd"] == plain["mcd"] == second["mcd"]
    assert first["ffe"] == plain["ffe"] == second["ffe"]
    # the entry is what is read: a tampered cache shows up in the score (so a hit is a real hit)
    with np.load(files[0]) as z:
        np.savez(files[0], mcep=z["mcep"] + 1.0, f0=z["f0"])
    assert Scorer(FS, HOP, cache_dir=str(cache)).score(gen, ref, "", None, None, None, None, None)["mcd"] != plain["mcd"]
    # another reference, or another F0 hop, is another entry
    Scorer(FS, HOP, cache_dir=str(cache)).score(gen, tone(230.0), "", None, None, None, None, None)
    Scorer(FS, 128, cache_dir=str(cache)).score(gen, ref, "", None, None, None, None, None)
    assert len(list(cache.glob("*.npz"))) == 3


def test_results_table_means_over_seeds(tmp_path):
    """svs_x (seed 0) + svs_x_seed1 + svs_x_seed2 -> one mean ± sd row per (tag, set); lone systems get none."""
    exp = tmp_path / "exp"
    for system, mae, cos in [("svs_x", 2.0, 0.5), ("svs_x_seed1", 3.0, 0.7), ("svs_x_seed2", 4.0, None),
                             ("svs_y", 9.0, 0.1)]:
        d = exp / system / "decode_a" / "test"
        d.mkdir(parents=True)
        (d / "scores.json").write_text(json.dumps({"mcd": 10.0, "dur_mae_frames": mae, "cos": cos,
                                                   "num_utts": 3}))
    make_results_table.main(["--exp_dir", str(exp), "--out", str(tmp_path / "R.md")])
    text = (tmp_path / "R.md").read_text()
    seeds = text.split("## Mean ± sd over training seeds")[1]
    rows = [line for line in seeds.splitlines() if line.startswith("| svs_")]
    assert len(rows) == 1 and rows[0].startswith("| svs_x | decode_a | - | test | 3 |")
    assert "3.00 ± 1.00" in rows[0]  # dur MAE mean and sample sd of 2, 3, 4
    assert "10.00 ± 0.00" in rows[0] and "| n/a |" in rows[0]  # a seed without Cos -> n/a
    assert "| svs_x_seed1 | decode_a | - | test |" in text.split("## Mean")[0]  # per-seed rows stay


def test_results_table_names_the_timing_of_each_row(tmp_path):
    """The predictor row, the lip-reading-head row and the fusion control read apart in the table."""
    exp = tmp_path / "exp"
    rows = [("svs_p", "decode_a", "lipreader"), ("svs_p", "decode_p", "predictor"),
            ("svs_s", "decode_a_timing_of_svs_p", "fixed:exp/svs_p/decode_a/test/durations")]
    for system, tag, timing in rows:
        d = exp / system / tag / "test"
        d.mkdir(parents=True)
        (d / "scores.json").write_text(json.dumps({"mcd": 10.0, "num_utts": 3, "timing": timing}))
    make_results_table.main(["--exp_dir", str(exp), "--out", str(tmp_path / "R.md")])
    text = (tmp_path / "R.md").read_text()
    assert "| svs_p | decode_a | lip-reading heads | test |" in text
    assert "| svs_p | decode_p | duration predictor | test |" in text
    assert "| svs_s | decode_a_timing_of_svs_p | fixed: svs_p/decode_a | test |" in text
    assert "MCD w/o c0" in text and "inner" in text.split("|")[0]  # the legend says which is which


def test_results_table_without_seeds_has_no_seed_section(tmp_path):
    d = tmp_path / "exp" / "svs_x" / "decode_a" / "test"
    d.mkdir(parents=True)
    (d / "scores.json").write_text(json.dumps({"mcd": 10.0, "num_utts": 3}))
    make_results_table.main(["--exp_dir", str(tmp_path / "exp"), "--out", str(tmp_path / "R.md")])
    assert "over training seeds" not in (tmp_path / "R.md").read_text()


def test_lse_reads_the_face_track_of_the_reference_video(dirs):
    """With SyncNet weights, LSE-C / LSE-D come from the reference video cropped by its face
    track (face_track.scp + video.scp), and a reference without a face track gets the reason."""
    from espnet2_ext.data.synth_video import encode_mp4
    from espnet2_ext.metrics.syncnet import SyncNet

    root, ref, dec = dirs
    torch.manual_seed(0)
    torch.save(SyncNet().state_dict(), root / "syncnet_v2.model")
    rng = np.random.default_rng(1)
    (ref / "video").mkdir()
    (ref / "face_track").mkdir()
    encode_mp4(rng.integers(0, 255, (30, 96, 96, 3), dtype=np.uint8), ref / "video" / "s_a.mp4")
    np.save(ref / "face_track" / "s_a.npy", np.tile([48.0, 44.0, 30.0], (30, 1)).astype(np.float32))
    (ref / "video.scp").write_text(f"s_a {ref / 'video' / 's_a.mp4'}\n")
    (ref / "face_track.scp").write_text(f"s_a {ref / 'face_track' / 's_a.npy'}\n")
    score_svs.main(["--decode_dir", str(dec), "--ref_dir", str(ref), "--fs", str(FS), "--hop_length", str(HOP),
                    "--syncnet_weights", str(root / "syncnet_v2.model"), "--out", "scores.json"])
    rows = {r["utt"]: r for r in map(json.loads, open(dec / "scores_per_utt.jsonl"))}
    assert np.isfinite(rows["s_a"]["lse_d"]) and rows["s_a"]["lse_c"] >= 0
    assert rows["s_b"]["lse_d"] is None and "face_track.scp" in rows["s_b"]["lse_d_reason"]
