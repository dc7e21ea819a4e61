"""Per-utterance scoring of a decode directory against the reference dump (stage 8).

    gen wav ----------+--> mel-cepstra --fastdtw--> MCD (c0 incl.), MCD without c0, path --+
    ref wav (GT) -----+                                          +--> FFE (F0 via parselmouth, path mapped
                                                                 |     to the F0 frame grid)
    gen wav --GE2E--> cos with ref spembs (or WavLM-SV with --wavlm_dir)
    gen wav + ref face crops (video + face track) --SyncNet--> LSE-C / LSE-D (needs --syncnet_weights)
    durations vs label --> dur MAE (frames), boundary hit rate (40 ms) of the inner boundaries
                           (the headline: video-driven timing fixes the first and the last) and of all

Each metric is a float or None with a reason; ``aggregate`` averages over utterances.
The reference side (mel-cepstra, F0) depends on the reference audio alone, and the recipe scores
the same references for several systems and control sets: with ``cache_dir`` it is computed once,
keyed by a hash of the samples and the analysis settings.
"""

import hashlib
import logging
import math
import os
import time
from collections import defaultdict
from typing import Any, Dict, List, Optional

import numpy as np

from espnet2_ext.utils.fileio import atomic_path

# mcd: c0 included (ESPnet's definition, the headline); mcd_no_c0: without the energy coefficient.
# boundary_hit_40ms: inner phone boundaries only; boundary_hit_40ms_all: inner + final.
METRICS = ("mcd", "mcd_no_c0", "ffe", "cos", "lse_c", "lse_d", "dur_mae_frames", "boundary_hit_40ms",
           "boundary_hit_40ms_all")


class Scorer:
    """Metric back-ends shared across utterances.

    Args:
        fs: sampling rate of the decode and reference wavs.
        hop_length: mel hop (F0 frame grid, durations).
        syncnet_weights: path of syncnet_v2.model-layout weights, or None (LSE null).
        wavlm_dir: local WavLMForXVector dir, or None (d-vector cosine).
        cache_dir: where the reference mel-cepstra and F0 are kept between runs, or None.
    """

    def __init__(self, fs: int, hop_length: int, syncnet_weights: Optional[str] = None,
                 wavlm_dir: Optional[str] = None, cache_dir: Optional[str] = None):
        self.fs, self.hop = fs, hop_length
        self.cache_dir = cache_dir
        self.syncnet = None
        self.syncnet_reason = "no SyncNet weights (pass --syncnet_weights syncnet_v2.model)"
        if syncnet_weights:
            from espnet2_ext.metrics.syncnet import load_syncnet

            self.syncnet = load_syncnet(syncnet_weights)
        self.wavlm = None
        self.wavlm_error = None
        if wavlm_dir:
            from espnet2_ext.metrics.speaker_cos import WavLMSpeakerVerifier

            try:
                self.wavlm = WavLMSpeakerVerifier(wavlm_dir)
            except ImportError as e:  # the library is optional: Cos becomes null with the reason
                self.wavlm_error = str(e)
                logging.error("WavLM-SV unavailable: %s", e)
        self.cos_kind = "wavlm_sv" if (self.wavlm or self.wavlm_error) else "ge2e_dvector"
        self.runtime = defaultdict(float)

    def _timed(self, key, fn, *a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            self.runtime[key] += time.perf_counter() - t0

    def _reference_features(self, ref_wav: np.ndarray):
        """Reference (mel-cepstra (T, D), F0 (T_f0,)), from the cache when it holds them."""
        from espnet2_ext.features.f0 import extract_f0
        from espnet2_ext.metrics import mcd

        path = None
        if self.cache_dir:
            h = hashlib.sha1(np.ascontiguousarray(ref_wav, dtype=np.float32).tobytes())
            h.update(f"mcep:{self.fs}:{mcd.MCEP_N_FFT}:{mcd.MCEP_N_SHIFT};f0:{self.hop}".encode())
            path = os.path.join(self.cache_dir, h.hexdigest() + ".npz")
            if os.path.isfile(path):
                with np.load(path) as z:
                    return z["mcep"], z["f0"]
        mc = self._timed("mcd", mcd.mel_cepstrum, ref_wav, self.fs)
        f0 = self._timed("ffe", extract_f0, ref_wav, self.fs, self.hop)[:, 0]
        if path:
            os.makedirs(self.cache_dir, exist_ok=True)
            with atomic_path(path, ".npz") as tmp:  # a per-process name: parallel jobs may write one key
                np.savez(tmp, mcep=mc, f0=f0)
        return mc, f0

    def score(self, gen_wav: np.ndarray, ref_wav: Optional[np.ndarray], ref_reason: str,
              spemb: Optional[np.ndarray], target_wav: Optional[np.ndarray], lip: Optional[np.ndarray],
              pred_dur: Optional[np.ndarray], true_dur: Optional[np.ndarray],
              gen_f0: Optional[np.ndarray] = None) -> Dict[str, Any]:
        """One utterance -> {metric: value or None, metric_reason: str}. ``lip``: the reference
        video's SyncNet face crops (T_v, 224, 224, 3) (metrics.lse.face_crops), or None."""
        from espnet2_ext.features.f0 import extract_f0
        from espnet2_ext.metrics import duration, ffe, mcd, speaker_cos

        out: Dict[str, Any] = {}
        if ref_wav is not None:
            mc_r, f0_r = self._reference_features(ref_wav)
            mc_g = self._timed("mcd", mcd.mel_cepstrum, gen_wav, self.fs)
            path = self._timed("mcd", mcd.dtw_path, mc_g, mc_r)
            out["mcd"] = mcd.mcd_from_mceps(mc_g, mc_r, path)
            out["mcd_no_c0"] = mcd.mcd_from_mceps(mc_g, mc_r, path, include_c0=False)
            f0_g = self._timed("ffe", extract_f0, gen_wav, self.fs, self.hop)[:, 0]
            f0_path = ffe.mcep_path_to_f0_path(path, mcd.MCEP_N_FFT, mcd.MCEP_N_SHIFT, self.hop)
            out["ffe"] = ffe.ffe(f0_g, f0_r, f0_path)
        else:
            for k in ("mcd", "mcd_no_c0", "ffe"):
                out[k], out[k + "_reason"] = None, ref_reason
        # speaker similarity
        if self.wavlm_error:
            out["cos"], out["cos_reason"] = None, self.wavlm_error
        elif self.wavlm is not None:
            if target_wav is None:
                out["cos"], out["cos_reason"] = None, "no target-voice audio found for WavLM-SV"
            else:
                out["cos"] = self._timed("cos", self.wavlm.cos, gen_wav, target_wav, self.fs)
        elif spemb is not None:
            out["cos"] = self._timed("cos", speaker_cos.speaker_cos, gen_wav, self.fs, ref_emb=spemb)
        else:
            out["cos"], out["cos_reason"] = None, "no spembs.scp entry for the target voice"
        # lip sync
        if self.syncnet is None:
            out["lse_c"] = out["lse_d"] = None
            out["lse_c_reason"] = out["lse_d_reason"] = self.syncnet_reason
        elif lip is None:
            out["lse_c"] = out["lse_d"] = None
            out["lse_c_reason"] = out["lse_d_reason"] = ("no face_track.scp / video.scp entry (stage 3 writes "
                                                         "face_track.scp with the landmark front end)")
        else:
            from espnet2_ext.metrics.lse import lse

            try:
                r = self._timed("lse", lse, self.syncnet, lip, gen_wav, self.fs)
                out["lse_c"], out["lse_d"], out["lse_offset"] = r["lse_c"], r["lse_d"], r["offset"]
            except ValueError as e:
                out["lse_c"] = out["lse_d"] = None
                out["lse_c_reason"] = out["lse_d_reason"] = str(e)
        # durations
        dur_keys = ("dur_mae_frames", "boundary_hit_40ms", "boundary_hit_40ms_all")
        reason = None
        if pred_dur is None or true_dur is None:
            reason = "no predicted durations in the decode dir" if pred_dur is None else "no label"
        else:
            try:
                d = duration.duration_scores(pred_dur, true_dur, self.fs, self.hop)
                out.update({k: d[k] for k in dur_keys})
                if d["boundary_hit_40ms"] is None:
                    out["boundary_hit_40ms_reason"] = "one phone: no inner boundary"
            except ValueError as e:
                reason = str(e)
        if reason is not None:
            for k in dur_keys:
                out[k], out[k + "_reason"] = None, reason
        for k in METRICS:
            if out.get(k) is not None and not math.isfinite(out[k]):
                out[k], out[k + "_reason"] = None, "not finite (e.g. no voiced frames / empty signal)"
        return out


def aggregate(per_utt: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Mean of each metric over the utterances that have it; null + the most common reason otherwise."""
    out: Dict[str, Any] = {}
    for k in METRICS:
        vals = [u[k] for u in per_utt if u.get(k) is not None]
        if vals:
            out[k] = float(np.mean(vals))
            if len(vals) < len(per_utt):
                out[k + "_num_utts"] = len(vals)
        else:
            reasons = [u.get(k + "_reason") for u in per_utt if u.get(k + "_reason")]
            out[k] = None
            out[k + "_reason"] = max(set(reasons), key=reasons.count) if reasons else "no utterances"
    out["num_utts"] = len(per_utt)
    return out
