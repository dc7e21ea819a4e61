"""The recipe's demo configs shrunk for tests, and one-epoch trainings through the task."""

from pathlib import Path
from typing import Sequence

import yaml

from espnet2_ext.utils.config import load_config
from tests.support.paths import CONF
from tests.support.tiny_dump import FS, data_args



def shrunk_config(name: str, out: Path) -> Path:
    """``conf/<name>`` (merged over its base_config) with even smaller modules, same structure and
    keys, one epoch, no normalisation; written to ``out/<name>``."""
    conf = load_config(CONF / name)
    svs = conf["svs_conf"]
    svs["hidden"] = 32
    svs["encoder_conf"].update(layers=1, ffn_units=32)
    svs["f0_conf"].update(residual_layers=2, residual_channels=16, num_steps=20, uv_channels=16)
    svs["decoder_conf"].update(residual_layers=2, residual_channels=16, num_steps=20)
    svs["style_conf"].update(wavenet_layers=1, rvq_codebook=8)
    svs["duration_conf"].update(channels=16)
    if svs.get("use_visual"):
        svs["lip_encoder_conf"].update(output_dim=16, frontend_channels=4, trunk_channels=4)
    conf.update(normalize=None, max_epoch=1, batch_size=2, batch_type="unsorted")
    path = Path(out) / Path(name).name
    path.write_text(yaml.safe_dump(conf))
    return path


def train(config: Path, dump: Path, exp: Path, extra: Sequence[str] = ()) -> None:
    """Train ``config`` on the tiny dump into ``exp`` with espnet's trainer (CPU)."""
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    VisualSVSTask.main(cmd=[
        "--config", str(config), "--output_dir", str(exp), "--ngpu", "0",
        "--token_type", "phn", "--token_list", str(dump / "tokens.txt"), "--use_preprocessor", "true",
        "--fs", str(FS), "--train_shape_file", str(dump / "text"), "--valid_shape_file", str(dump / "text"),
        "--use_tensorboard", "false", *extra,
    ] + data_args(dump, "train") + data_args(dump, "valid"))
