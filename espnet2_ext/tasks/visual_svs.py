"""VisualSVSTask: espnet2's SVS task plus the ``lip`` data stream.

    data dir:  text, singing (wav.scp), score.scp, label, pitch.scp, spembs.scp, lip.scp (npy)
        -> VisualSVSPreprocessor: espnet's SVSPreprocessor (phones, MIDI, durations from label/score)
           + lip (T_v, 96, 96) uint8 -> (T_v, 88, 88) float32 (crop, /255, standardise)
        -> CommonCollateFn (pads ``lip`` to (B, T_v, 88, 88), adds ``lip_lengths``)
        -> VisualESPnetSVSModel (model_type ``visual_svs``, the default here) -> svs(..., lip=...)

Additions to espnet's SVSTask:
* ``lip`` is an optional data name in training and in inference;
* ``--lip_crop_size``, ``--lip_mean``, ``--lip_std``: how crops are normalised when loaded;
* ``--stage_one_checkpoint``: stage two of PerformSinger's training starts from the stage-one model,
  checking that every expected key is loaded (espnet's ``--init_param`` does not check);
* ``--lr_scale``: learning-rate factors per SVS sub-module (e.g. ``{lip_reader: 5.0}``), so that a
  freshly initialised part learns fast next to parts that start from stage one;
* ``main`` checks ``--ngpu`` against the visible CUDA devices before any work
  (espnet2_ext/utils/device.py);
* ``build_model_from_file`` loads strictly: a checkpoint that does not match the config is an
  error, never a silently half-initialised model;
* ``--config`` files may inherit (``base_config:``, espnet2_ext/utils/config.py), and the mel grid
  of the model (``svs_conf.frame_rate`` = fs / hop_length, or HPMDubbing's ``fs`` and
  ``hop_length``) is derived from ``feats_extract_conf`` (``derive_frame_grid``).
"""

import argparse
import inspect
import logging
from pathlib import Path
from typing import Optional, Tuple, Union

import torch
import yaml

import espnet2_ext  # noqa: F401  (registers our classes before the registries are read)
from espnet2.tasks import svs as svs_task
from espnet2.tasks.svs import SVSTask
from espnet2.train.class_choices import ClassChoices
from espnet2.train.abs_espnet_model import AbsESPnetModel
from espnet2.utils import config_argparse
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none

from espnet2_ext.tasks.preprocessor import VisualSVSPreprocessor
from espnet2_ext.utils.checkpoint_io import load_checkpoint
from espnet2_ext.utils.config import ConfigError, load_config
from espnet2_ext.utils.device import check_ngpu

_visual_model_type_choices = ClassChoices(
    "model_type",
    classes=svs_task.model_type_choices.classes,
    type_check=AbsESPnetModel,
    default="visual_svs",
)


class InheritingConfigParser(config_argparse.ArgumentParser):
    """espnet's config-file parser, reading ``--config`` through ``load_config`` (``base_config:`` chains)."""

    def parse_known_args(self, args=None, namespace=None):
        pre, _ = argparse.ArgumentParser.parse_known_args(self, args, namespace)
        if pre.config is not None:
            try:
                conf = load_config(pre.config)
            except ConfigError as e:
                self.error(str(e))
            known = {action.dest for action in self._actions}
            unknown = sorted(set(conf) - known)
            if unknown:
                self.error(f"unrecognized arguments: {', '.join(unknown)} (from {pre.config})")
            self.set_defaults(**conf)
        return argparse.ArgumentParser.parse_known_args(self, args, namespace)


# svs_conf keys that follow from the mel grid, (fs, hop_length) of feats_extract_conf -> value
FRAME_GRID = {
    "frame_rate": lambda fs, hop: float(fs) / float(hop),  # PerformSinger: mel frames per second
    "fs": lambda fs, hop: fs,  # HPMDubbing: mel length = round(T_v * fs / hop_length / video_fps)
    "hop_length": lambda fs, hop: hop,
}


def derive_frame_grid(svs: str, svs_conf: Optional[dict], feats_extract_conf: Optional[dict]) -> dict:
    """``svs_conf`` with the mel-grid options its class takes (``FRAME_GRID``: ``frame_rate`` =
    fs / hop_length, or ``fs`` and ``hop_length``) set from ``feats_extract_conf``.

    Configs do not write them: the mel grid is the feature extractor's, and the video-to-mel mapping
    must follow it. A value written by hand that differs is an error. Without fs / hop_length in
    ``feats_extract_conf`` the conf is returned as given. Everything that builds a model from a
    recipe config without the task (benchmarks, tests) calls this too.
    """
    svs_conf = dict(svs_conf or {})
    feats = feats_extract_conf or {}
    if not (feats.get("fs") and feats.get("hop_length")):
        return svs_conf
    params = inspect.signature(svs_task.svs_choices.get_class(svs).__init__).parameters
    for key, rule in FRAME_GRID.items():
        if key not in params:
            continue
        value, given = rule(feats["fs"], feats["hop_length"]), svs_conf.get(key)
        if given is not None and abs(float(given) - float(value)) > 1e-6:
            raise ValueError(f"svs_conf.{key} {given} does not match feats_extract_conf (fs {feats['fs']}, "
                             f"hop_length {feats['hop_length']}): {value}; leave {key} out, it is derived")
        svs_conf[key] = value
    return svs_conf


def derive_frame_rate(args: argparse.Namespace) -> None:
    """``args.svs_conf`` completed by ``derive_frame_grid`` from ``args.feats_extract_conf``."""
    if getattr(args, "feats_extract_conf", None):
        args.svs_conf = derive_frame_grid(args.svs, getattr(args, "svs_conf", None), args.feats_extract_conf)


class VisualSVSTask(SVSTask):
    """SVS task whose batches may carry lip-ROI videos (``lip``)."""

    class_choices_list = [
        _visual_model_type_choices if c.name == "model_type" else c
        for c in SVSTask.class_choices_list
    ]

    @classmethod
    def get_parser(cls) -> config_argparse.ArgumentParser:
        parser = super().get_parser()
        # espnet builds its own parser class inside AbsTask.get_parser; only --config reading differs.
        parser.__class__ = InheritingConfigParser
        return parser

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        super().add_task_arguments(parser)
        group = parser.add_argument_group(description="Visual (lip) stream")
        group.add_argument(
            "--lip_crop_size",
            type=int,
            default=88,
            help="Side of the square crop taken from the stored 96x96 mouth ROI "
            "(centre crop in evaluation, random crop + horizontal flip in training).",
        )
        group.add_argument("--lip_mean", type=float, default=0.421, help="Mean of lip pixels in [0, 1].")
        group.add_argument("--lip_std", type=float, default=0.165, help="Std of lip pixels in [0, 1].")
        group.add_argument(
            "--stage_one_checkpoint",
            type=str_or_none,
            default=None,
            help="Stage-one model file (e.g. exp/svs_stylesinger/valid.loss_synth.best.pth) to initialise "
            "every non-visual parameter of a two-stage model from. Every key must match.",
        )
        group.add_argument(
            "--lr_scale",
            action=NestedDictAction,
            default={},
            help="Learning-rate factors per sub-module of the SVS model: {<parameter-name prefix>: factor}, "
            "e.g. {lip_reader: 5.0} multiplies optim_conf.lr (and the scheduler's curve) for svs.lip_reader.*.",
        )

    @classmethod
    def main(cls, args: Optional[argparse.Namespace] = None, cmd=None):
        """espnet's ``AbsTask.main``, after checking that ``--ngpu`` GPUs are visible."""
        if args is None:
            args = cls.get_parser().parse_args(cmd)
        if not args.print_config:
            check_ngpu(args.ngpu, "training")
        super().main(args=args)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return super().optional_data_names(train, inference) + ("lip",)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool):
        if not args.use_preprocessor:
            return None
        return VisualSVSPreprocessor(
            train=train,
            token_type=args.token_type,
            token_list=args.token_list,
            bpemodel=args.bpemodel,
            non_linguistic_symbols=args.non_linguistic_symbols,
            text_cleaner=args.cleaner,
            g2p_type=args.g2p,
            fs=args.fs,
            hop_length=args.feats_extract_conf["hop_length"],
            lip_crop_size=getattr(args, "lip_crop_size", 88),
            lip_mean=getattr(args, "lip_mean", 0.421),
            lip_std=getattr(args, "lip_std", 0.165),
        )

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        derive_frame_rate(args)
        model = super().build_model(args)
        ckpt = getattr(args, "stage_one_checkpoint", None)
        if ckpt:
            from espnet2_ext.svs.performsinger.stage_init import load_stage_one

            loaded = load_stage_one(model.svs, ckpt)
            logging.info(f"Stage two initialised from {ckpt}: {len(loaded)} tensors loaded")
        return model

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module):
        scale = dict(getattr(args, "lr_scale", None) or {})
        if not scale:
            return super().build_optimizers(args, model)
        from espnet2.tasks.abs_task import optim_classes

        if args.optim not in optim_classes:
            raise ValueError(f"--optim must be one of {list(optim_classes)}: {args.optim}")
        if "lr" not in (args.optim_conf or {}):
            raise ValueError("--lr_scale needs optim_conf.lr (the learning rate the factors multiply)")
        base = float(args.optim_conf["lr"])
        groups = {key: [] for key in scale}
        rest = []
        for name, p in model.named_parameters():
            key = next((k for k in scale if name.startswith((f"svs.{k}.", f"{k}."))), None)
            (groups[key] if key is not None else rest).append(p)
        empty = sorted(k for k, v in groups.items() if not v)
        if empty:
            raise ValueError(f"--lr_scale: no parameter of the model is under {empty} "
                             f"(keys are sub-module names of the SVS model, e.g. lip_reader, fusion)")
        param_groups = [{"params": rest}] + [{"params": groups[k], "lr": base * float(f)} for k, f in scale.items()]
        return [optim_classes[args.optim](param_groups, **args.optim_conf)]

    @classmethod
    def build_model_from_file(
        cls,
        config_file: Optional[Union[Path, str]] = None,
        model_file: Optional[Union[Path, str]] = None,
        device: str = "cpu",
    ) -> Tuple[AbsESPnetModel, argparse.Namespace]:
        """Build the model of a finished training and load its weights strictly."""
        if config_file is None:
            if model_file is None:
                raise ValueError("Give config_file, model_file, or both.")
            config_file = Path(model_file).parent / "config.yaml"
        config_file = Path(config_file)
        if not config_file.is_file():
            raise FileNotFoundError(f"{config_file}: no such config (pass --train_config)")
        with config_file.open("r", encoding="utf-8") as f:
            args = argparse.Namespace(**yaml.safe_load(f))
        # Weights come from model_file: do not re-read training-time initialisers (nor warn that a
        # frozen part has none: freezing only matters in training).
        args.stage_one_checkpoint = None
        svs_conf = dict(getattr(args, "svs_conf", None) or {})
        for key, conf in list(svs_conf.items()):
            if isinstance(conf, dict) and conf.get("pretrained"):
                svs_conf[key] = {**conf, "pretrained": None, **({"freeze": False} if "freeze" in conf else {})}
        args.svs_conf = svs_conf
        model = cls.build_model(args)
        model.to(device)
        if model_file is not None:
            state = load_checkpoint(model_file, map_location=device, what="model file")
            missing, unexpected = model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise RuntimeError(
                    f"{model_file} does not match {config_file}: "
                    f"missing keys {missing[:10]}{'...' if len(missing) > 10 else ''}, "
                    f"unexpected keys {unexpected[:10]}{'...' if len(unexpected) > 10 else ''}"
                )
        return model, args
