"""Sing onto a video: ``Performer`` loads a trained system once and sings any number of lines.

    Performer.from_pretrained(MODEL)    MODEL = a pack (.zip, api/pack.py) or an exp dir (the
                                        checkpoint stage 7 decodes, utils/model_file.py)
      -> VisualSVSTask.build_model_from_file (strict), the vocoder (vocoder/build.py), stage 3's
         lip extractor (api/video.py), the task's preprocessor (token ids, lip normalisation)

    performer(video, lyrics, notes, reference[, start, end]) -> Performance
      lyrics, notes --api/score_input.py--> phones (N,), per-phone MIDI (N,)      no label, no score
      video --api/video.py--> crops (T_v, 96, 96) at 25 fps --preprocessor--> lip (1, T_v, 88, 88)
      reference --api/reference.py--> feats (T_r, n_mels) reference mel, spembs (256,) d-vector
      --model.inference (espnet's wrapper, as stage 7 calls it; durations from the lips)-->
        mel (T, n_mels), durations (N,) mel frames, F0 (T,) --vocoder--> wav (T x hop,)

Repeated calls reuse the model, the vocoder, the face detector and the last reference's inputs.
"""

import logging
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from espnet2_ext.api.errors import InputError
from espnet2_ext.api.reference import reference_inputs
from espnet2_ext.api.score_input import ScoreInputError, Syllable, parse_lyrics, parse_notes, phone_inputs, \
    score_file_notes
from espnet2_ext.api.video import VIDEO_FPS, check_length, inspect_video, make_lip_extractor, read_clip
from espnet2_ext.features.f0 import check_f0_conf
from espnet2_ext.svs.performsinger.confidence import MIN_LIP_CONFIDENCE
from espnet2_ext.svs.precision import resolve_precision

DEFAULT_DECODE_CONF = {"sampler": "auto", "steps": 2, "seed": 0, "precision": "auto"}  # = conf/decode_fast.yaml (a test holds them equal)
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi")


@dataclass
class Performance:
    """One sung line: the waveform, its timing and what made it."""

    wav: np.ndarray  # (T x hop,) float32
    fs: int
    syllables: List[Syllable]
    phones: List[str]  # (N,)
    midi: List[int]  # (N,)
    durations: np.ndarray  # (N,) mel frames
    frame_rate: float  # mel frames per second
    start: float  # seconds into the video where the line begins
    mel: np.ndarray  # (T, n_mels) denormalised
    f0: Optional[np.ndarray]  # (T,) Hz
    attn: Optional[np.ndarray]  # (N, T_v)
    crops: np.ndarray  # (T_v, 96, 96) lip crops
    timings: Dict[str, float] = field(default_factory=dict)
    lip_confidence: Optional[float] = None  # how well the lips were read (svs/performsinger/confidence.py)
    frame_confidence: Optional[np.ndarray] = None  # (T_v,) the same per video frame
    confident: Optional[bool] = None  # lip_confidence >= the Performer's threshold (None: timing not from video)

    @property
    def unread_frames(self) -> str:
        """'3-7, 12': the video frames of the line (0-based from ``start``) where the lips were not read."""
        from espnet2_ext.svs.performsinger.confidence import low_frames

        return "" if self.frame_confidence is None else low_frames(self.frame_confidence)

    @property
    def boundaries(self) -> np.ndarray:
        """(N + 1,) phone boundaries in seconds of the video's timeline."""
        return self.start + np.concatenate([[0.0], np.cumsum(self.durations)]) / self.frame_rate

    @property
    def durations_s(self) -> np.ndarray:
        return self.durations / self.frame_rate


def resolve_notes(notes: Union[str, Path, Sequence], where: str = "--notes") -> List[int]:
    """Note names / MIDI numbers (string or list), or a MusicXML / MIDI file path -> MIDI numbers."""
    if isinstance(notes, Path) or (isinstance(notes, str) and notes.strip().lower().endswith(SCORE_SUFFIXES)):
        return score_file_notes(notes)
    return parse_notes(notes, where)


class Performer:
    """A loaded system that sings lyrics onto videos (see the module docstring)."""

    def __init__(self, model, train_args, vocoder, roi_conf: dict, source: str, decode_conf: dict,
                 device: str = "cpu", keep: Optional[object] = None, f0_conf: Optional[dict] = None,
                 min_confidence: float = MIN_LIP_CONFIDENCE):
        from espnet2_ext.tasks.visual_svs import VisualSVSTask

        self.model, self.train_args, self.vocoder, self.device = model, train_args, vocoder, device
        self.source, self.decode_conf, self._keep = source, dict(decode_conf), keep
        self.fs = int(train_args.feats_extract_conf["fs"])
        self.hop = int(train_args.feats_extract_conf["hop_length"])
        self.preprocess = VisualSVSTask.build_preprocess_fn(train_args, False)
        self.token2id = self.preprocess.token_id_converter.token2id
        self.extractor = make_lip_extractor(roi_conf)  # stage 3's front end, rebuilt (lip/front_end.py)
        self.roi_conf = self.extractor.roi_conf
        self.f0_conf = check_f0_conf(f0_conf or {})
        self._reference_key, self._reference = None, None
        self.min_confidence = float(min_confidence)

    @classmethod
    def from_pretrained(cls, model: Union[str, Path], device: str = "cpu", vocoder: Optional[str] = None,
                        vocoder_checkpoint: Optional[str] = None, roi_conf: Optional[dict] = None,
                        decode_conf: Optional[dict] = None, precision: Optional[str] = None,
                        espnet_typechecks: bool = False) -> "Performer":
        """Load a pack (.zip) or an exp dir once. ``vocoder`` (auto | griffin_lim | hifigan_pretrained |
        hifigan), ``roi_conf`` and ``decode_conf`` default to the pack's, else to the recipe's; ``precision``
        (float32 | bfloat16 | auto, espnet2_ext/svs/precision.py) replaces the decode conf's.
        ``espnet_typechecks``: keep espnet's import-time typeguard instrumentation (about 7 s of
        loading on 2 cores; utils/espnet_import.py)."""
        if not espnet_typechecks:
            from espnet2_ext.utils.espnet_import import skip_espnet_typechecks

            skip_espnet_typechecks()
        import yaml

        from espnet2_ext.api.pack import exp_config, exp_input_choices, load_pack
        from espnet2_ext.features.dvector import check_dvector_model, dvector
        from espnet2_ext.tasks.visual_svs import VisualSVSTask
        from espnet2_ext.utils.model_file import resolve_model_file
        from espnet2_ext.vocoder.build import build_vocoder

        path, keep, meta = Path(model), None, {}
        t0 = time.perf_counter()
        if path.is_file() and zipfile.is_zipfile(path):
            keep = tempfile.TemporaryDirectory(prefix="espnet2_ext_pack_")
            packed = load_pack(path, Path(keep.name) / "pack")
            config, model_file, meta = packed.config, packed.model_file, packed.meta
            voc = meta.get("vocoder") or {}
            vocoder = vocoder or voc.get("kind") or "auto"
            if vocoder_checkpoint is None and voc.get("checkpoint"):
                vocoder_checkpoint = str(packed.root / voc["checkpoint"])
        elif path.is_dir() and (path / "config.yaml").is_file():
            model_file = Path(resolve_model_file(str(path)))
            if not model_file.is_file():
                raise InputError(f"{path}: no model file {model_file.name} (train the system, or pack it)")
            # its paths are relative to the recipe dir: a copy that names them from anywhere
            keep = tempfile.TemporaryDirectory(prefix="espnet2_ext_exp_")
            config = Path(keep.name) / "config.yaml"
            config.write_text(yaml.safe_dump(exp_config(path), sort_keys=False), encoding="utf-8")
        else:
            raise InputError(f"--model {path}: not a packed model (.zip) nor an exp dir with config.yaml")
        root_logger = logging.getLogger()
        level = root_logger.level
        root_logger.setLevel(max(level, logging.WARNING))  # espnet logs the whole training config here
        try:
            net, args = VisualSVSTask.build_model_from_file(config, model_file, device)
        finally:
            root_logger.setLevel(level)
        net.eval()
        # the d-vector encoder of the references, loaded (and its first-call set-up paid) with the rest
        dvector(np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1, 16000, "warm-up")
        voc = build_vocoder(vocoder or "auto", dict(args.feats_extract_conf), checkpoint=vocoder_checkpoint)
        choices = meta if meta else ({} if roi_conf is not None else exp_input_choices(path))
        if roi_conf is None and not (choices.get("lip_roi_conf") or {}).get("front_end"):
            raise InputError(f"{path}: the pack records no explicit lip front end (packed before stage 9 recorded "
                             "stage 3's); pack it again with stage 9, or pass roi_conf")
        roi = dict(roi_conf if roi_conf is not None else choices["lip_roi_conf"])
        if choices.get("dvector"):
            check_dvector_model(choices["dvector"], str(path))
        dec = dict(decode_conf if decode_conf is not None else meta.get("decode_conf") or DEFAULT_DECODE_CONF)
        if precision is not None:
            resolve_precision(precision, device)  # a bad name is an error before the first line is sung
            dec["precision"] = precision
        out = cls(net, args, voc, roi, str(path), dec, device, keep, f0_conf=choices.get("f0_conf"))
        logging.info("loaded %s (%s, vocoder %s) in %.2f s", path, Path(model_file).name,
                     getattr(voc, "name", type(voc).__name__), time.perf_counter() - t0)
        return out

    @property
    def vocoder_name(self) -> str:
        return getattr(self.vocoder, "name", type(self.vocoder).__name__)

    def prepare(self, lyrics: Union[str, Sequence[Syllable]], notes, where: str = "") -> tuple:
        """Lyrics and notes -> (syllables, phones, midi, phones per syllable); every input error first."""
        syllables = parse_lyrics(lyrics, where or "--lyrics") if isinstance(lyrics, str) else list(lyrics)
        midi_notes = resolve_notes(notes, where or "--notes")
        phones, midi, counts = phone_inputs(syllables, midi_notes, where or "--notes")
        for pos, s in enumerate(syllables, start=1):
            for ph in s.phones:
                if ph not in self.token2id:
                    raise ScoreInputError(f"{where or '--lyrics'}: syllable {pos} {s.text!r} has the phone {ph!r}, "
                                          f"which the model's token list ({len(self.token2id)} tokens) lacks")
        return syllables, phones, midi, counts

    def reference(self, path: Union[str, Path]) -> Dict[str, torch.Tensor]:
        """Reference inputs of ``path``, computed once for the same file."""
        p = Path(path)
        key = (str(p.absolute()), p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None
        if key is None or key != self._reference_key:
            self._reference = reference_inputs(self.model, p, self.fs, f0_conf=self.f0_conf)
            self._reference_key = key
        return self._reference

    def __call__(self, video: Union[str, Path], lyrics, notes, reference: Union[str, Path],
                 start: Optional[float] = None, end: Optional[float] = None, where: str = "",
                 timing_only: bool = False) -> Performance:
        """Sing ``lyrics`` on ``notes`` in the voice of ``reference`` with the timing of ``video``'s lips.

        ``timing_only``: read the timing and its confidence, and stop before any mel or waveform is
        generated (the Performance then has an empty ``wav`` and a (T, 0) ``mel``)."""
        timings, t0 = {}, time.perf_counter()
        syllables, phones, midi, counts = self.prepare(lyrics, notes, where)
        info = inspect_video(video)
        seconds = (end if end is not None else info.duration) - (start or 0.0)
        check_length(video, seconds, len(phones), where and f" ({where})")
        ref = self.reference(reference)
        timings["features"] = self._lap(t0, "features", f"{len(phones)} phones, reference {reference}")
        t0 = time.perf_counter()
        clip = read_clip(self.extractor, video, info, start, end)
        check_length(video, clip.seconds, len(phones), where and f" ({where})")
        timings["roi"] = self._lap(t0, "ROI", f"{len(clip.crops)} frames at {VIDEO_FPS:g} fps")
        t0 = time.perf_counter()
        out = self._infer(phones, midi, counts, clip.crops, ref, durations_only=timing_only)
        if timing_only:
            out.update(feat=np.zeros((int(out["duration"].sum()), 0), np.float32))
        timings["model"] = self._lap(t0, "model", f"{len(out['feat'])} mel frames")
        t0 = time.perf_counter()
        wav = np.zeros(0, np.float32) if timing_only else np.asarray(self.vocoder(out["feat"]), dtype=np.float32)
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        if peak > 1.0:
            wav = wav / peak * 0.99
        timings["vocoder"] = self._lap(t0, "vocoder", f"{len(wav) / self.fs:.2f} s of audio")
        frame_rate = self.fs / self.hop
        perf = Performance(wav, self.fs, syllables, phones, midi, out["duration"], frame_rate, clip.start,
                           out["feat"], out.get("f0"), out.get("attn"), clip.crops, timings)
        if out.get("lip_confidence") is not None:
            perf.lip_confidence = round(float(out["lip_confidence"]), 4)
            perf.frame_confidence = out["frame_confidence"]
            perf.confident = perf.lip_confidence >= self.min_confidence
            if not perf.confident:
                logging.warning("%s%s: the lips were read with confidence %.2f (below %.2f): the timing is likely "
                                "wrong. Frames not read (0-based at %g fps from %.2f s): %s. The model reads only "
                                "faces like those it was trained on", video, where and f" ({where})",
                                perf.lip_confidence, self.min_confidence, VIDEO_FPS, clip.start,
                                perf.unread_frames or "none below 0.5")
        return perf

    @staticmethod
    def _lap(t0: float, step: str, what: str) -> float:
        dt = time.perf_counter() - t0
        logging.info("%-8s %6.2f s  %s", step, dt, what)
        return round(dt, 4)

    def _infer(self, phones: List[str], midi: List[int], counts: List[int], crops: np.ndarray,
               ref: Dict[str, torch.Tensor], durations_only: bool = False) -> Dict[str, np.ndarray]:
        """The inputs stage 7's preprocessor would give, without label or score durations."""
        ids = torch.tensor([self.token2id[p] for p in phones], dtype=torch.long, device=self.device)
        n = len(phones)
        zeros = torch.zeros(n, dtype=torch.long, device=self.device)
        lip = torch.from_numpy(self.preprocess.lip_transform("perform", crops))[None].to(self.device)
        batch = dict(text=ids, label=ids, midi=torch.tensor(midi, dtype=torch.long, device=self.device),
                     phn_cnt=torch.tensor(counts, dtype=torch.long, device=self.device),
                     duration_ruled_phn=zeros, duration_syb=zeros, slur=zeros,
                     spembs=ref["spembs"].to(self.device), lip=lip,
                     lip_lengths=torch.tensor([lip.shape[1]], device=self.device))
        with torch.no_grad():
            out = self.model.inference(**batch, ref_feats=ref["ref_feats"].to(self.device),
                                       ref_pitch=ref["ref_pitch"].to(self.device), use_teacher_forcing=False,
                                       durations_only=durations_only, **self.decode_conf)
        if durations_only:
            out["feat_gen"] = out["duration"].new_zeros((0, 0), dtype=torch.float32)
        mel = out.get("feat_gen_denorm", out.get("feat_gen"))
        if mel is None or out.get("duration") is None:
            raise RuntimeError(f"{type(self.model.svs).__name__} returned no mel or no durations")
        res = {"feat": mel.detach().cpu().numpy().astype(np.float32),
               "duration": out["duration"].detach().cpu().numpy().astype(np.int64).reshape(-1)}
        if out.get("lip_confidence") is not None:
            res["lip_confidence"] = float(out["lip_confidence"])
        for k in ("f0", "attn", "frame_confidence"):
            if out.get(k) is not None:
                res[k] = out[k].detach().cpu().numpy().astype(np.float32)
        return res
