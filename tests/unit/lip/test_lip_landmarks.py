"""Landmark front end: alignment to the mean face, accuracy on the harder demo video, fallback."""

import json

import cv2
import numpy as np
import pytest

from espnet2_ext.lip import align
from espnet2_ext.lip.landmarks import KEEP_POINTS, POINT
from espnet2_ext.lip.front_end import build_extractor
from espnet2_ext.lip.roi import LipRoiExtractor


def test_mean_face_is_upright_and_symmetric():
    mf = align.MEAN_FACE
    assert mf.shape == (len(KEEP_POINTS), 2)
    r, left = align.eye_centres(mf)
    assert r[1] == pytest.approx(left[1]) and r[0] < 128 < left[0]
    assert align.roll_degrees(mf) == pytest.approx(0.0)
    mc = align.mouth_centre(mf)
    assert mc[0] == pytest.approx(128) and mc[1] > mf[POINT["nose"], 1] > r[1]
    # the mouth is about half of the 96 px crop wide (LRW-like framing)
    assert 40 < mf[POINT["mouth_l"], 0] - mf[POINT["mouth_r"], 0] < 56


def test_similarity_undoes_roll_and_scale():
    ang, k, t = np.radians(12.0), 0.6, np.array([20.0, -7.0])
    rot = k * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    lm = align.MEAN_FACE @ rot.T + t
    a = align.similarity_to_mean(lm)
    back = lm @ a[:, :2].T + a[:, 2]
    assert np.abs(back - align.MEAN_FACE).max() < 1e-3
    assert align.roll_degrees(lm) == pytest.approx(12.0, abs=1e-6)


def test_syncnet_face_crop_geometry():
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[50:150, 60:140] = 255  # the "face": box centre (100, 100), half size 50
    crop = align.syncnet_face_crop(frame, np.array([100.0, 100.0, 50.0]))
    assert crop.shape == (224, 224, 3)
    # the crop spans 140 px: columns 30..170 and rows 50..190 of the frame
    k = 224 / 140.0
    assert crop[int(5 * k), 112, 0] == 255  # row 55: inside the box
    assert crop[112, int(25 * k), 0] == 0 and crop[112, int(35 * k), 0] == 255  # x = 55 / 65


@pytest.fixture(scope="module")
def harder_videos(tmp_path_factory):
    pytest.importorskip("mediapipe")
    from espnet2_ext.data.demo_corpus import make_demo_corpus

    root = tmp_path_factory.mktemp("hard")
    make_demo_corpus(root, seed=5, num_singers=6, num_ood=2, utts_per_singer=1, ood_utts_per_singer=1, scale=1.0)
    return sorted(root.glob("*/*.mp4"))


def test_landmark_front_end_meets_the_targets_on_the_harder_videos(harder_videos):
    from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor
    from espnet2_ext.lip.report import summarize, utt_stats

    ex = LandmarkRoiExtractor()
    utts = {}
    for p in harder_videos:
        tr = ex(p)
        assert tr.crops.shape[1:] == (96, 96) and tr.front_end == "mediapipe_face_mesh"
        utts[p.stem] = utt_stats(tr, np.load(str(p).replace(".mp4", ".mouth.npy")), p.stem)
    rep = summarize(utts, [])
    assert rep["detection_rate_unoccluded"] >= 0.99
    assert rep["center_err_fw_median"] <= 0.03 and rep["center_err_fw_p95"] <= 0.08
    assert rep["roll_err_deg_median"] <= 3.0
    assert rep["front_end"] == ["mediapipe_face_mesh"]


def test_aligned_crops_do_not_turn_with_the_head(harder_videos):
    """One frame rotated by 10 degrees: the landmark crops stay nearly the same, the Haar crops
    (translation and scale only) turn with the head."""
    from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor
    from espnet2_ext.lip.video_io import GrayVideo

    frame = next(iter(GrayVideo(harder_videos[0])))
    h, w = frame.shape
    rot = cv2.warpAffine(frame, cv2.getRotationMatrix2D((w / 2, h / 2), 10.0, 1.0), (w, h),
                         borderMode=cv2.BORDER_REFLECT)

    class Frames(list):
        path = "rotated"
        width, height, fps, backend = w, h, 25.0, "memory"

    lm_a = LandmarkRoiExtractor()(Frames([frame] * 5)).crops[2].astype(np.float32)
    lm_b = LandmarkRoiExtractor()(Frames([rot] * 5)).crops[2].astype(np.float32)
    hr_a = LipRoiExtractor()(Frames([frame] * 5)).crops[2].astype(np.float32)
    hr_b = LipRoiExtractor()(Frames([rot] * 5)).crops[2].astype(np.float32)
    inner = (slice(16, 80), slice(16, 80))
    d_lm = np.abs(lm_a[inner] - lm_b[inner]).mean()
    d_haar = np.abs(hr_a[inner] - hr_b[inner]).mean()
    assert d_lm < 0.5 * d_haar and d_lm < 8.0


def test_front_end_choice_and_fallback(monkeypatch):
    assert isinstance(build_extractor({"front_end": "haar"}), LipRoiExtractor)
    with pytest.raises(ValueError, match="front_end"):
        build_extractor({"front_end": "dlib"})
    import espnet2_ext.lip.landmarks as lmk

    monkeypatch.setattr(lmk, "mediapipe_available", lambda: False)
    ex = build_extractor({"front_end": "auto"})
    assert isinstance(ex, LipRoiExtractor) and ex.front_end == "haar_cascade"
    with pytest.raises(ImportError, match="requirements-nodeps.txt"):
        build_extractor({"front_end": "mediapipe"})


def test_cli_names_the_front_end_and_keeps_the_face_track(harder_videos, tmp_path):
    from espnet2_ext.bin.extract_lip_roi import main

    scp = tmp_path / "video.scp"
    scp.write_text("".join(f"{p.stem} {p}\n" for p in harder_videos[:1]))
    gt = tmp_path / "gt.scp"
    gt.write_text("".join(f"{p.stem} {str(p).replace('.mp4', '.mouth.npy')}\n" for p in harder_videos[:1]))
    main(["--video_scp", str(scp), "--mouth_gt_scp", str(gt), "--out_dir", str(tmp_path / "lip"),
          "--out_scp", str(tmp_path / "lip.scp"), "--report", str(tmp_path / "rep.json"),
          "--face_track_dir", str(tmp_path / "ft"), "--face_track_scp", str(tmp_path / "ft.scp")])
    rep = json.loads((tmp_path / "rep.json").read_text())
    assert rep["front_end"] == ["mediapipe_face_mesh"] and "roll_err_deg_median" in rep
    utt, path = (tmp_path / "ft.scp").read_text().split()
    track = np.load(path)
    assert utt == harder_videos[0].stem and track.ndim == 2 and track.shape[1] == 3


@pytest.mark.parametrize("fps", [50, 20])
def test_video_at_another_frame_rate_is_resampled_to_25_by_timestamp(tmp_path, fps):
    from espnet2_ext.data.synth_video import encode_mp4
    from espnet2_ext.lip.video_io import GrayVideo

    n = 2 * fps  # 2 s; frame i has brightness 10 + 4 i (i < 60)
    frames = np.stack([np.full((64, 64, 3), 10 + 4 * min(i, 59), np.uint8) for i in range(n)])
    encode_mp4(frames, tmp_path / "v.mp4", fps=fps)
    video = GrayVideo(tmp_path / "v.mp4")
    out = list(video)
    assert video.fps == 25.0 and video.source_fps == pytest.approx(fps) and len(out) == 50
    src = np.array([(float(f.mean()) - 10) / 4 for f in out])
    want = np.minimum(np.round(np.arange(50) / 25 * fps + 1e-6), 59)  # nearest source frame in time
    assert np.abs(src[:25] - want[:25]).max() < 0.6


def test_landmark_crops_are_reproducible(harder_videos):
    from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor

    a, b = LandmarkRoiExtractor()(harder_videos[1]), LandmarkRoiExtractor()(harder_videos[1])
    assert np.array_equal(a.crops, b.crops) and np.array_equal(a.face_track, b.face_track)
