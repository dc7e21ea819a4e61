#!/usr/bin/env python3
"""Duration-free singing synthesis from lyrics, notes, a reference voice and a silent video.

    dump/raw/<set>/{text,label,score.scp,spembs.scp,lip.scp}
        -> VisualSVSTask preprocessor (phones, MIDI, lip crops)
    dump/raw/<set>/ref_wav.scp: the reference recording of each utterance
        -> its mel through the model's own feats_extract + normalize, its F0 (features/reference.py)
    [--fixed_durations <decode dir>/durations: another decode's timing, imposed]
        -> model.inference(..., lip=(1, T_v, 88, 88), ref_feats=(T_r, odim), ref_pitch=(T_r,))
           durations are predicted (or given by --fixed_durations), never read from the label;
           spembs is the reference's d-vector
        -> mel (T, n_mels) -> vocoder -> wav
        -> wav muxed onto the silent input video -> mp4

espnet's own ``svs_inference`` drops every input it does not know (``lip``) and writes no wav
without a parallel_wavegan vocoder; this entry point always writes a wav (see
``espnet2_ext.vocoder.build``: our trained HiFi-GAN, the packaged pretrained one when the mel
configuration matches, Griffin-Lim otherwise) and logs which vocoder it used.

One process can decode several sets (``--data_dir`` repeated, each with its own ``--output_dir``)
and pays the model and vocoder start-up once; the recipe's stage 7 runs up to
``--decode_sets_per_job`` sets of a system per process, one process per key-file split, and merges.

Outputs (``--output_dir`` of each set):
    feats.ark/.scp   generated mel, denormalised (T, n_mels)
    f0.ark/.scp      predicted F0 in Hz (T,), when the model predicts it
    durations        ``<utt> d1 ... dN`` predicted phone durations in mel frames
    timing           ``<utt> <source>`` where they came from: the model's duration source
                     (lipreader, predictor, ...) or ``fixed:<durations file>``
    lip_confidence   ``<utt> <C>`` how well the lips were read, for durations read off the video
                     (svs/performsinger/confidence.py; empty for other timings)
    wav.scp          ``<utt> <wav dir>/<utt>.wav``
    <wav_dir>/<utt>.wav, <attn_dir>/<utt>.npy (N, T_v), <video_dir>/<utt>.mp4
"""

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import espnet2_ext  # noqa: F401  (first: registers classes, silences nltk)
import kaldiio
import numpy as np
import soundfile as sf
import torch
from espnet2.fileio.read_text import read_2columns_text
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool, str2triple_str, str_or_none
from tqdm import tqdm

from espnet2_ext.svs.precision import PRECISIONS
from espnet2_ext.tasks.dump_streams import triples
from espnet2_ext.tasks.registry import SYSTEMS, system_needs
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from espnet2_ext.utils.decode_inputs import REF_WAV_SCP, UttInputs, reference_scp_of
from espnet2_ext.utils.media import mux_video
from espnet2_ext.utils.device import device_for
from espnet2_ext.utils.fileio import atomic_path


def _to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@dataclass
class DecodeSet:
    """One set to decode: its input streams and where its outputs go."""

    streams: List[Tuple[str, str, str]]
    output_dir: Path
    key_file: Optional[str] = None
    video_scp: Optional[str] = None
    ref_wav_scp: Optional[str] = None
    fixed_durations: Optional[str] = None
    wav_dir: Optional[Path] = None
    attn_dir: Optional[Path] = None
    video_dir: Optional[Path] = None


def _one_per_set(args: argparse.Namespace, name: str, n: int) -> List[Optional[str]]:
    values = getattr(args, name) or []
    if len(values) not in (0, n):
        raise ValueError(f"--{name} was given {len(values)} times for {n} set(s): give it once per --data_dir "
                         "(in the same order) or not at all")
    return list(values) if values else [None] * n


def decode_sets(args: argparse.Namespace) -> List[DecodeSet]:
    """The sets of this process: ``--data_dir`` (one or more) or one ``--data_path_and_name_and_type`` set."""
    if bool(args.data_dir) == bool(args.data_path_and_name_and_type):
        raise ValueError("give either --data_dir (a set's dump dir, repeatable) or --data_path_and_name_and_type "
                         "(the streams of one set), not both and not neither")
    if args.data_path_and_name_and_type:
        streams_per_set = [list(args.data_path_and_name_and_type)]
        videos = [args.video_scp]
        refs = _one_per_set(args, "ref_wav_scp", 1)
        if refs[0] is None:
            raise ValueError(f"the set of {streams_per_set[0][0][0]} has no reference recordings: pass --ref_wav_scp "
                             "(<utt> <reference wav>; the utterances' own wav.scp for setting 1)")
    else:
        if args.video_scp:
            raise ValueError("--video_scp goes with --data_path_and_name_and_type; with --data_dir the "
                             "set's video.scp is used when it exists")
        if args.ref_wav_scp:
            raise ValueError("--ref_wav_scp goes with --data_path_and_name_and_type; with --data_dir the set's "
                             f"{REF_WAV_SCP} is used")
        streams_per_set, videos, refs = [], [], []
        for d in args.data_dir:
            if not (Path(d) / "text").is_file():
                raise FileNotFoundError(f"--data_dir {d}: {Path(d) / 'text'} not found (pass a dump dir of stages 2-4)")
            streams_per_set.append(triples(d, "decode", existing_only=True))
            video = Path(d) / "video.scp"
            videos.append(str(video) if video.is_file() else None)
            refs.append(reference_scp_of(d))
    n = len(streams_per_set)
    outs = _one_per_set(args, "output_dir", n)
    if None in outs:
        raise ValueError("--output_dir is required (once per set)")
    keys = _one_per_set(args, "key_file", n)
    fixed = _one_per_set(args, "fixed_durations", n)
    wavs, attns, vids = (_one_per_set(args, k, n) for k in ("wav_dir", "attn_dir", "video_dir"))
    opt = lambda p: Path(p) if p else None  # noqa: E731
    return [
        DecodeSet(streams_per_set[i], Path(outs[i]), keys[i], videos[i], refs[i], fixed[i],
                  opt(wavs[i]), opt(attns[i]), opt(vids[i]))
        for i in range(n)
    ]


def configure_decode(svs, train_args: argparse.Namespace, args: argparse.Namespace) -> str:
    """Pass the decode options given to the model (``svs.configure_decode``), refusing those its system
    does not declare (SystemNeeds.decode_options); -> where its durations come from, for the log."""
    applies = system_needs(train_args.svs, getattr(train_args, "svs_conf", None)).decode_options
    name = type(svs).__name__
    if args.duration_source is not None and "duration_source" not in applies:
        raise ValueError(f"--duration_source {args.duration_source}: {name} has no duration source to choose; "
                         "drop the option")
    prior = {key: value for key, value in (("weight", args.duration_prior_weight), ("sigma", args.duration_prior_sigma),
                                           ("max_span_s", args.duration_prior_max_span_s)) if value is not None}
    if prior and "duration_prior" not in applies:
        raise ValueError(f"--duration_prior_*: {name} has no duration prior; drop the options")
    if train_args.svs not in SYSTEMS:  # espnet2's own classes declare nothing and take no decode option
        return name
    options = {"duration_source": args.duration_source, "duration_prior": prior or None}
    return svs.configure_decode(**{key: value for key, value in options.items() if key in applies})


def inference(args: argparse.Namespace) -> None:
    device = str(device_for(args.ngpu, "decoding"))  # before any work: --ngpu 1 needs a visible GPU
    sets = decode_sets(args)
    torch.set_num_threads(max(1, args.nthreads))
    model, train_args = VisualSVSTask.build_model_from_file(args.train_config, args.model_file, device)
    model.eval()
    logging.info(f"durations from: {configure_decode(model.svs, train_args, args)}")
    fbank_conf = dict(train_args.feats_extract_conf)
    fs = int(fbank_conf["fs"])

    from espnet2_ext.vocoder.build import build_vocoder

    vocoder = build_vocoder(args.vocoder, fbank_conf, checkpoint=args.vocoder_checkpoint)
    if hasattr(vocoder, "to"):  # HiFi-GAN runs beside the model; Griffin-Lim stays on the CPU
        vocoder.to(device)
    logging.info(f"vocoder: {getattr(vocoder, 'name', type(vocoder).__name__)}")

    decode_conf = dict(
        use_teacher_forcing=False,
        sampler=args.sampler,
        steps=args.steps,
        seed=args.seed,
        precision=args.precision,
    )
    for key in ("f0_sampler", "f0_steps"):  # PerformSinger's F0 predictor (default: the mel's sampler / steps)
        if getattr(args, key) is not None:
            decode_conf[key] = getattr(args, key)
    for dset in sets:
        decode_set(dset, model, train_args, vocoder, fs, device, decode_conf, args)


def _write_wav(wav_path: Path, wav: np.ndarray, fs: int) -> Path:
    """16-bit PCM at ``wav_path`` (atomically), scaled down to a 0.99 peak only if it clips."""
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if peak > 1.0:
        wav = wav / peak * 0.99
    with atomic_path(wav_path, ".wav") as tmp:
        sf.write(tmp, wav, fs, subtype="PCM_16")
    return wav_path


def _write_f0_and_durations(key: str, output: dict, f0_w, dur_w) -> None:
    """The predicted F0 (T,) into the f0 ark and the phone durations (N,) as a line of ``durations``."""
    if output.get("f0") is not None:
        f0_w(key, _to_numpy(output["f0"]).astype(np.float32).reshape(-1))
    if output.get("duration") is not None:
        dur = _to_numpy(output["duration"]).astype(np.int64).reshape(-1)
        dur_w.write(f"{key} {' '.join(map(str, dur.tolist()))}\n")


def decode_set(dset: DecodeSet, model, train_args, vocoder, fs: int, device: str, decode_conf: dict,
               args: argparse.Namespace) -> None:
    """Decode the utterances of one set (those of its key file, if any) into its output dir."""
    loader = VisualSVSTask.build_streaming_iterator(
        dset.streams,
        dtype="float32",
        batch_size=1,
        key_file=dset.key_file,
        num_workers=0,
        preprocess_fn=VisualSVSTask.build_preprocess_fn(train_args, False),
        collate_fn=VisualSVSTask.build_collate_fn(train_args, False),
        allow_variable_data_keys=False,
        inference=True,
    )
    videos: Dict[str, str] = read_2columns_text(dset.video_scp) if dset.video_scp else {}
    utt_inputs = UttInputs(model, dset.ref_wav_scp, dset.fixed_durations)
    timing = utt_inputs.timing()

    out = dset.output_dir
    out.mkdir(parents=True, exist_ok=True)
    wav_dir = dset.wav_dir or out / "wav"
    attn_dir = dset.attn_dir or out / "attn"
    video_dir = dset.video_dir or out / "video"
    for d in (wav_dir, attn_dir, video_dir):
        d.mkdir(parents=True, exist_ok=True)

    logging.info(f"decoding {dset.streams[0][0]}" + (f" (keys: {dset.key_file})" if dset.key_file else "")
                 + f" -> {out}")
    n_done, total_audio, total_time = 0, 0.0, 0.0
    with kaldiio.WriteHelper(f"ark,scp:{out}/feats.ark,{out}/feats.scp") as feats_w, \
            kaldiio.WriteHelper(f"ark,scp:{out}/f0.ark,{out}/f0.scp") as f0_w, \
            open(out / "durations", "w", encoding="utf-8") as dur_w, \
            open(out / "timing", "w", encoding="utf-8") as timing_w, \
            open(out / "lip_confidence", "w", encoding="utf-8") as conf_w, \
            open(out / "wav.scp", "w", encoding="utf-8") as wav_w:
        for keys, batch in tqdm(loader, desc="decoding", unit="utt", disable=not args.progress):
            key = keys[0]
            lip = batch.pop("lip", None)
            lip_lengths = batch.pop("lip_lengths", None)
            batch = {k: v[0] for k, v in batch.items() if not k.endswith("_lengths")}
            extra = {}
            if lip is not None:
                extra = dict(lip=lip.to(device), lip_lengths=lip_lengths.to(device))
            batch = {k: v.to(device) for k, v in batch.items()}
            extra.update(utt_inputs(key, device))
            t0 = time.perf_counter()
            with torch.no_grad():
                output = model.inference(**batch, **extra, **decode_conf)
            # feat_gen_denorm exists when the model normalises its features (global_mvn)
            mel = output.get("feat_gen_denorm", output.get("feat_gen"))
            if mel is None:
                raise RuntimeError(f"{key}: the model returned no mel spectrogram (feat_gen)")
            mel = _to_numpy(mel).astype(np.float32)
            wav = np.asarray(vocoder(mel), dtype=np.float32)
            elapsed = time.perf_counter() - t0
            total_time += elapsed
            total_audio += len(wav) / fs
            n_done += 1

            feats_w(key, mel)
            _write_f0_and_durations(key, output, f0_w, dur_w)
            timing_w.write(f"{key} {timing}\n")
            if output.get("lip_confidence") is not None:
                conf_w.write(f"{key} {float(output['lip_confidence']):.4f}\n")
            if output.get("attn") is not None:
                np.save(attn_dir / f"{key}.npy", _to_numpy(output["attn"]).astype(np.float32))
            wav_path = _write_wav(wav_dir / f"{key}.wav", wav, fs)
            wav_w.write(f"{key} {wav_path.resolve()}\n")
            if key in videos and args.mux_video:
                mux_video(videos[key], str(wav_path), video_dir / f"{key}.mp4")
            logging.info(f"{key}: {len(wav) / fs:.2f} s of audio in {elapsed:.2f} s")
    if n_done == 0:
        raise RuntimeError(f"no utterance of {dset.streams[0][0]} was decoded: check the set's files and its key file "
                           f"({dset.key_file})")
    logging.info(
        f"decoded {n_done} utterances, {total_audio:.1f} s of audio, RTF {total_time / max(total_audio, 1e-9):.3f}"
    )


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Duration-free SVS inference with the lip stream",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])
    parser.add_argument("--output_dir", action="append",
                        help="where a set's outputs go (once per set; see the module docstring)")
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU; 1: decode (and vocode) on the GPU")
    parser.add_argument("--nthreads", type=int, default=1)
    parser.add_argument("--data_path_and_name_and_type", type=str2triple_str, action="append",
                        help="the streams of one set (path,name,type), as espnet's svs_inference takes them")
    parser.add_argument("--data_dir", action="append",
                        help="a set's dump dir ({text,label,score.scp,spembs.scp,lip.scp[,video.scp]}); repeat it "
                             "to decode several sets in one process (instead of --data_path_and_name_and_type)")
    parser.add_argument("--key_file", action="append", help="the keys to decode (once per set, or never: all)")
    parser.add_argument("--ref_wav_scp", action="append",
                        help="with --data_path_and_name_and_type: <utt> <reference wav> (required; with --data_dir "
                             f"the set's {REF_WAV_SCP})")
    parser.add_argument("--fixed_durations", action="append",
                        help="once per set, or never: a decode dir's durations file (<utt> d1 ... dN) whose timing is "
                             "imposed instead of the model's duration source (the same timing for two acoustic models)")
    parser.add_argument("--train_config", type=str_or_none, help="config.yaml of the training")
    parser.add_argument("--model_file", type=str, required=True)
    parser.add_argument("--sampler", default="auto",
                        help="diffusion sampler: ddim | ddpm | dpm_solver (decoder_conf objective ddpm), "
                             "euler | rk2 | rk4 (objective reflow), auto (ddim or euler, as the objective)")
    parser.add_argument("--steps", type=int, default=10, help="sampling steps (ddpm uses all; flows: ODE intervals)")
    parser.add_argument("--f0_sampler", type=str_or_none, default=None,
                        help="PerformSinger: the F0 predictor's sampler (default: --sampler)")
    parser.add_argument("--f0_steps", type=int, default=None,
                        help="PerformSinger: the F0 predictor's steps (default: --steps)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the diffusion noise")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="PerformSinger: compute dtype of the lip encoder, F0 predictor and mel decoders; auto: "
                             "bfloat16 where the device computes it natively (espnet2_ext/svs/precision.py)")
    parser.add_argument(
        "--duration_source", type=str_or_none, default=None,
        help="PerformSinger: predictor | lipreader | attention | aligner, overriding the training config's (default: keep it)",
    )
    parser.add_argument("--duration_prior_weight", type=float, default=None,
                        help="PerformSinger: weight of the duration predictor's prior on the video timing "
                             "(0: off; default: the training config's)")
    parser.add_argument("--duration_prior_sigma", type=float, default=None,
                        help="PerformSinger: sigma of that log-normal prior (default: the training config's)")
    parser.add_argument("--duration_prior_max_span_s", type=float, default=None,
                        help="PerformSinger: longest phone (s) the prior's Viterbi considers; bounds its "
                             "O(T x span) cost on long lines (default: the training config's, none)")
    parser.add_argument(
        "--vocoder", default="auto", choices=["auto", "griffin_lim", "hifigan_pretrained", "hifigan"],
    )
    parser.add_argument("--vocoder_checkpoint", type=str_or_none, default=None)
    parser.add_argument("--video_scp", type=str_or_none, help="silent input videos to dub")
    parser.add_argument("--mux_video", type=str2bool, default=True)
    parser.add_argument("--wav_dir", action="append", help="once per set; default: <output_dir>/wav")
    parser.add_argument("--attn_dir", action="append", help="once per set; default: <output_dir>/attn")
    parser.add_argument("--video_dir", action="append", help="once per set; default: <output_dir>/video")
    parser.add_argument("--progress", type=str2bool, default=True)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
    )
    inference(args)


if __name__ == "__main__":
    main()
