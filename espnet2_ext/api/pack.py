"""Packed models: one zip in ESPnet's pack convention, written by recipe stage 9, loaded anywhere.

    write_pack(exp/svs_<system>, <out>.zip)
      exp/svs_<system>/config.yaml  --paths of the files below -> their member names; training
                                      data paths, output_dir, initialisers cleared-->
      zip: meta.yaml                  files / yaml_files (member names, as espnet2's pack), versions
                                      (python, torch, espnet, espnet2_ext), the mel setup, the
                                      vocoder (its kind resolved), stage 3's explicit lip front end
                                      (lip_roi_conf), stage 2's F0 extractor (f0_conf) and
                                      d-vector encoder (dvector): input_choices
           exp/svs_<system>/config.yaml  the rewritten config
           exp/svs_<system>/model.pth    the checkpoint stage 7 decodes (utils/model_file.py)
           exp/svs_<system>/feats_stats.npz, tokens.txt, lip_reader.pth, vocoder.pth (when present)

    load_pack(<pack>.zip, dest)  -> PackedModel(config, model_file, meta, root)
      every member checked first: its resolved path inside ``dest`` (no ``..``, no absolute name,
      no symlink), at most ``max_member_bytes`` (and the bytes read never more than declared);
      then extracted into ``dest`` (a new, empty directory), meta.yaml and the config read with
      yaml.safe_load, member names in the config rewritten to paths under ``dest``.

Nothing in a pack names the recipe dir: write_pack refuses a config value it would leave there.
"""

import logging
import shutil
import stat
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

import yaml

from espnet2_ext.api.errors import InputError
from espnet2_ext.utils.fileio import atomic_path
from espnet2_ext.utils.model_file import resolve_model_file

# the decode options a pack keeps from stage 7's decode config: those the model's inference takes
# (Performer passes them on); the recipe-only ones (duration_source, duration_prior_*) stay out
PACKED_DECODE_KEYS = ("sampler", "steps", "seed", "f0_sampler", "f0_steps", "precision")
MAX_MEMBER_BYTES = 2 << 30  # 2 GiB: a paper-size checkpoint is ~0.3 GB
MAX_TOTAL_BYTES = 8 << 30
_CLEARED_KEYS = {  # config keys that name training-time files of the recipe: no use at inference
    "train_data_path_and_name_and_type": [], "valid_data_path_and_name_and_type": [], "train_shape_file": [],
    "valid_shape_file": [], "output_dir": None, "stage_one_checkpoint": None, "init_param": [],
    "config": None, "bpemodel": None, "allow_variable_data_keys": False,
}


class PackError(InputError):
    """A pack that cannot be written or that is refused on loading; the message names the member."""


@dataclass
class PackedModel:
    """An extracted pack: the config and model file to build the model from, and meta.yaml."""

    config: Path
    model_file: Path
    meta: Dict[str, Any]
    root: Path
    files: Dict[str, Path]


_STATS_CONFS = (("normalize_conf", "feats_stats.npz"), ("pitch_normalize_conf", "pitch_stats.npz"),
                ("energy_normalize_conf", "energy_stats.npz"))


def recipe_path(exp: Path, value: str) -> Path:
    """A file an exp dir's config.yaml names: as written when absolute or found from the working
    directory, else relative to the recipe dir (the one holding exp/, where training ran)."""
    src = Path(value)
    if not src.is_absolute() and not src.exists():
        src = Path(exp).absolute().parent.parent / src
    return src


def exp_config(exp: Union[str, Path]) -> dict:
    """``exp``/config.yaml with the files it names (token list, normalisation stats, pretrained
    weights of svs_conf) as ``recipe_path`` finds them, so that it loads from any directory."""
    exp = Path(exp)
    config = yaml.safe_load((exp / "config.yaml").read_text(encoding="utf-8"))
    if isinstance(config.get("token_list"), str):
        config["token_list"] = str(recipe_path(exp, config["token_list"]))
    for conf_key, _ in _STATS_CONFS:
        sub = config.get(conf_key) or {}
        if sub.get("stats_file"):
            config[conf_key] = dict(sub, stats_file=str(recipe_path(exp, sub["stats_file"])))
    for key, sub in (config.get("svs_conf") or {}).items():
        if isinstance(sub, dict) and sub.get("pretrained"):
            config["svs_conf"][key] = dict(sub, pretrained=str(recipe_path(exp, sub["pretrained"])))
    return config


def _walk_strings(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_strings(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk_strings(v, f"{prefix}[{i}]")
    elif isinstance(value, str):
        yield prefix, value


def _replace_strings(value, mapping: Dict[str, str]):
    if isinstance(value, dict):
        return {k: _replace_strings(v, mapping) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_strings(v, mapping) for v in value]
    return mapping.get(value, value) if isinstance(value, str) else value


def _versions() -> Dict[str, str]:
    import espnet
    import torch

    import espnet2_ext

    return dict(python=sys.version.split()[0], torch=str(torch.__version__), espnet=espnet.__version__,
                espnet2_ext=espnet2_ext.__version__, timestamp=time.time())


def _pack_config(exp: Path, system: str, config: dict) -> tuple:
    """-> (config with member names, {member name: source file}, {meta key: member name})."""
    config = dict(config)
    config.update({k: v for k, v in _CLEARED_KEYS.items() if k in config})
    base = f"exp/{exp.name}"
    sources, keys = {}, {}
    token_list = config.get("token_list")
    tokens = list(token_list) if isinstance(token_list, (list, tuple)) else \
        Path(token_list).read_text(encoding="utf-8").split()
    config["token_list"] = f"{base}/tokens.txt"
    sources[config["token_list"]] = "\n".join(tokens) + "\n"
    keys["token_list"] = config["token_list"]
    for conf_key, name in _STATS_CONFS:
        sub = dict(config.get(conf_key) or {})
        if sub.get("stats_file"):
            src = recipe_path(exp, sub["stats_file"])
            if not src.is_file():
                raise PackError(f"{exp}/config.yaml: {conf_key}.stats_file {sub['stats_file']} not found")
            sub["stats_file"] = f"{base}/{name}"
            sources[sub["stats_file"]], keys[name.split(".")[0]] = src, sub["stats_file"]
            config[conf_key] = sub
    svs_conf = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (config.get("svs_conf") or {}).items()}
    for key, sub in svs_conf.items():
        if isinstance(sub, dict) and sub.get("pretrained"):
            # the model file holds these weights; the heads ship beside it as the pack convention asks
            src = recipe_path(exp, sub["pretrained"])
            if key == "lip_reader_conf" and src.is_file():
                sub["pretrained"] = f"{base}/lip_reader.pth"
                sources[sub["pretrained"]], keys["lip_reader"] = src, sub["pretrained"]
            else:
                sub["pretrained"] = None
    config["svs_conf"] = svs_conf
    return config, sources, keys


def input_choices(roi_conf: Optional[dict]) -> dict:
    """What the model's inputs were made with, as a pack records it (meta.yaml) and ``Performer``
    rebuilds it: stage 3's explicit lip front end (lip/front_end.py), stage 2's F0 extractor
    (features/f0.py) and d-vector encoder (features/dvector.py)."""
    from espnet2_ext.features.dvector import dvector_model_id
    from espnet2_ext.features.f0 import DEFAULT_F0_CONF
    from espnet2_ext.lip.front_end import resolve_roi_conf

    if not roi_conf or roi_conf.get("front_end") not in ("mediapipe", "haar"):
        raise PackError("the lip front end of stage 3 is not explicit (front_end mediapipe or haar, as "
                        "lip_report.json records it since stage 3 writes roi_conf): run stage 3 again")
    explicit = resolve_roi_conf(roi_conf)
    explicit.update({k: roi_conf[k] for k in ("mean_face", "versions") if k in roi_conf})
    return dict(lip_roi_conf=explicit, f0_conf=dict(DEFAULT_F0_CONF), dvector=dvector_model_id())


def exp_input_choices(exp: Union[str, Path]) -> dict:
    """``input_choices`` of an exp dir that was not packed: the roi_conf of the lip_report.json beside
    the lip scp it was trained on (stage 3's record, found as ``recipe_path`` finds files)."""
    exp = Path(exp)
    config = yaml.safe_load((exp / "config.yaml").read_text(encoding="utf-8"))
    lips = [e[0] for e in config.get("train_data_path_and_name_and_type") or [] if len(e) > 1 and e[1] == "lip"]
    for scp in lips:
        report = recipe_path(exp, scp).parent / "lip_report.json"
        if report.is_file():
            import json

            conf = json.loads(report.read_text(encoding="utf-8")).get("roi_conf")
            if conf:
                return input_choices(conf)
            raise PackError(f"{report}: records no roi_conf (written before stage 3 recorded its front end): "
                            "run stage 3 again, or pass roi_conf")
    raise PackError(f"{exp}: no lip_report.json beside its training lip scp {lips or '(none)'}: pass roi_conf "
                    "(stage 3's explicit front end) or load the packed model")


def write_pack(exp_dir: Union[str, Path], out: Union[str, Path], model_file: str = "auto",
               vocoder: str = "griffin_lim", vocoder_checkpoint: Optional[str] = None,
               roi_conf: Optional[dict] = None, decode_conf: Optional[dict] = None) -> Path:
    """Pack ``exp_dir`` (its config.yaml and the model file ``model_file`` chooses) into ``out``.

    ``roi_conf``: stage 3's explicit front end (lip_report.json's ``roi_conf``); ``vocoder``:
    a kind of vocoder/build.py, ``auto`` resolved here as stage 7 resolves it."""
    from espnet2_ext.vocoder.build import resolve_kind

    exp = Path(exp_dir).absolute()
    choices = input_choices(roi_conf)
    system = exp.name[4:] if exp.name.startswith("svs_") else exp.name
    conf_path = exp / "config.yaml"
    model = Path(resolve_model_file(str(exp), model_file))
    for f in (conf_path, model):
        if not f.is_file():
            raise PackError(f"{f}: not found (train {exp.name} first, or pass --model_file)")
    config, sources, files = _pack_config(exp, system, yaml.safe_load(conf_path.read_text(encoding="utf-8")))
    base = f"exp/{exp.name}"
    files["model_file"] = f"{base}/model.pth"
    sources[files["model_file"]] = model
    try:
        voc = {"kind": resolve_kind(vocoder, dict(config.get("feats_extract_conf") or {}), vocoder_checkpoint),
               "checkpoint": None}
    except ValueError as e:
        raise PackError(f"--vocoder {vocoder}: {e}") from e
    if vocoder_checkpoint:
        voc = {"kind": "hifigan", "checkpoint": f"{base}/vocoder.pth"}
        files["vocoder_checkpoint"] = voc["checkpoint"]
        sources[voc["checkpoint"]] = Path(vocoder_checkpoint)
    recipe = str(exp.parent.parent)
    for key, value in _walk_strings(config):
        if value in sources:
            continue
        if recipe in value or value.startswith(("exp/", "dump/", "data/", "/")):
            raise PackError(f"{conf_path}: {key} = {value!r} refers to the recipe's files; a pack must not "
                            "(add the key to pack.py's cleared keys or to the packed files)")
    meta = dict(files=files, yaml_files={"train_config": f"{base}/config.yaml"}, system=system,
                mel=dict(config.get("feats_extract_conf") or {}), vocoder=voc,
                decode_conf=dict(decode_conf or {}), source_model_file=model.name, **choices, **_versions())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, ".zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.yaml", yaml.safe_dump(meta, allow_unicode=True))
        zf.writestr(meta["yaml_files"]["train_config"], yaml.safe_dump(config, allow_unicode=True))
        for name, src in sources.items():
            if isinstance(src, str):
                zf.writestr(name, src)
            else:
                zf.write(src, name)
    logging.info("packed %s (%s) -> %s", exp, model.name, out)
    return out


def check_members(zf: zipfile.ZipFile, dest: Path, max_member_bytes: int = MAX_MEMBER_BYTES,
                  max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
    """PackError naming the first member that would land outside ``dest``, is a link, or is too large."""
    root = dest.resolve()
    total = 0
    for info in zf.infolist():
        name = info.filename
        where = f"{zf.filename}: member {name!r}"
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise PackError(f"{where} is a symbolic link; a pack holds regular files only")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or Path(name).is_absolute():
            raise PackError(f"{where} has an absolute path; pack members are relative")
        if ".." in Path(name.replace("\\", "/")).parts:
            raise PackError(f"{where} climbs out of the pack ('..')")
        target = (root / name).resolve()
        if target != root and root not in target.parents:
            raise PackError(f"{where} resolves outside the extraction directory")
        if info.file_size > max_member_bytes:
            raise PackError(f"{where} is {info.file_size} bytes, over the {max_member_bytes}-byte member limit")
        total += info.file_size
        if total > max_total_bytes:
            raise PackError(f"{where}: the pack holds over {max_total_bytes} bytes")


def _extract(zf: zipfile.ZipFile, dest: Path, max_member_bytes: int) -> None:
    for info in zf.infolist():
        target = dest / info.filename
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with zf.open(info) as src, open(target, "xb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
                if n > min(info.file_size, max_member_bytes):
                    raise PackError(f"{zf.filename}: member {info.filename!r} holds more bytes than it declares")
                dst.write(chunk)


def _safe_yaml(data: bytes, where: str) -> dict:
    try:
        out = yaml.safe_load(data) or {}
    except yaml.YAMLError as e:  # e.g. a !!python tag: safe_load refuses to build objects
        raise PackError(f"{where} is not plain YAML ({str(e).splitlines()[0]})") from e
    if not isinstance(out, dict):
        raise PackError(f"{where} is not a YAML mapping")
    return out


def load_pack(pack: Union[str, Path], dest: Union[str, Path], max_member_bytes: int = MAX_MEMBER_BYTES) -> PackedModel:
    """Check and extract ``pack`` into the new directory ``dest``; see the module docstring."""
    pack, dest = Path(pack), Path(dest)
    if not pack.is_file():
        raise PackError(f"{pack}: pack not found")
    if dest.exists() and any(dest.iterdir()):
        raise PackError(f"{dest}: extraction directory is not empty (a pack is extracted into a fresh one)")
    try:
        zf = zipfile.ZipFile(pack)
    except zipfile.BadZipFile as e:
        raise PackError(f"{pack}: not a zip file ({e})") from e
    with zf:
        check_members(zf, dest, max_member_bytes)
        names = set(zf.namelist())
        if "meta.yaml" not in names:
            raise PackError(f"{pack}: member 'meta.yaml' missing (not a packed model)")
        meta = _safe_yaml(zf.read("meta.yaml"), f"{pack}: member 'meta.yaml'")
        files = dict(meta.get("files") or {})
        yaml_files = dict(meta.get("yaml_files") or {})
        for key, name in {**yaml_files, **files}.items():
            if name not in names:
                raise PackError(f"{pack}: member {name!r} ({key} of meta.yaml) missing")
        if "train_config" not in yaml_files or "model_file" not in files:
            raise PackError(f"{pack}: meta.yaml names no train_config / model_file")
        dest.mkdir(parents=True, exist_ok=True)
        try:
            _extract(zf, dest, max_member_bytes)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    root = dest.absolute()
    conf_path = root / yaml_files["train_config"]
    config = _safe_yaml(conf_path.read_bytes(), f"{pack}: member {yaml_files['train_config']!r}")
    config = _replace_strings(config, {n: str(root / n) for n in names})
    conf_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return PackedModel(conf_path, root / files["model_file"], meta, root,
                       {k: root / v for k, v in files.items()})
