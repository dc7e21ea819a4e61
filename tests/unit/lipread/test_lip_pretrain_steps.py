"""The steps of lip-reading pretraining (lipread/trainer.py): the config check, the output paths,
the chance count, and a run resumed after its first epoch ending with the uninterrupted run's model."""

from types import SimpleNamespace

import pytest
import torch

from espnet2_ext.lipread.data import IGNORE, LipFrameDataset, build_vocab
from espnet2_ext.lipread.trainer import CONFIG_DEFAULTS, chance_accuracy, check_config, run_paths, train
from tests.unit.lipread.test_lip_pretrain import write_set

TINY = dict(encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16), head_hidden=16, lr=5e-3,
            batch_size=3)


def _args(root, out, resume=False):
    return SimpleNamespace(config="conf/lip.yaml", train_lip_scp=f"{root}/train/lip.scp",
                           train_label=f"{root}/train/label", valid_lip_scp=f"{root}/dev/lip.scp",
                           valid_label=f"{root}/dev/label", out_dir=str(out), resume=resume)


def test_check_config_fills_the_defaults_and_names_unknown_keys():
    conf, augment = check_config(SimpleNamespace(config="conf/lip.yaml"), {"epochs": 3})
    assert conf == {**CONFIG_DEFAULTS, "epochs": 3} and augment is not None
    with pytest.raises(ValueError, match=r"conf/lip.yaml: unknown keys \['epoch'\]"):
        check_config(SimpleNamespace(config="conf/lip.yaml"), {"epoch": 3})


def test_run_paths_refuse_a_finished_run_unless_resuming(tmp_path):
    ckpt, enc, log = run_paths(str(tmp_path / "exp"), resume=False)
    assert [p.rsplit("/", 1)[1] for p in (ckpt, enc, log)] == ["checkpoint.pth", "lip_encoder.pth", "log.json"]
    open(enc, "w").close()
    with pytest.raises(FileExistsError, match="--resume"):
        run_paths(str(tmp_path / "exp"), resume=False)
    assert run_paths(str(tmp_path / "exp"), resume=True) == (ckpt, enc, log)


def test_chance_is_the_share_of_the_most_frequent_labelled_frame(tmp_path):
    write_set(str(tmp_path), "train", 4, 0)
    label = f"{tmp_path}/train/label"
    phones = build_vocab(label)
    ds = LipFrameDataset(f"{tmp_path}/train/lip.scp", label, {p: i for i, p in enumerate(phones)}, train=False)
    y = torch.cat([ds[i][1] for i in range(len(ds))])
    y = y[y != IGNORE]
    assert chance_accuracy(ds, len(phones)) == pytest.approx(float(torch.bincount(y).max()) / len(y))


def test_resumed_after_one_epoch_ends_with_the_uninterrupted_model(tmp_path):
    torch.set_num_threads(1)
    write_set(str(tmp_path), "train", 6, 0)
    write_set(str(tmp_path), "dev", 2, 1)
    conf = dict(TINY, epochs=2)
    full = train(_args(tmp_path, tmp_path / "full"), conf)
    train(_args(tmp_path, tmp_path / "part"), dict(conf, epochs=1))
    resumed = train(_args(tmp_path, tmp_path / "part", resume=True), conf)

    def drop_seconds(log):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in log["epochs"]]

    assert drop_seconds(resumed) == drop_seconds(full) and resumed["chance"] == full["chance"]
    a = torch.load(tmp_path / "full" / "checkpoint.pth", weights_only=False)["model"]
    b = torch.load(tmp_path / "part" / "checkpoint.pth", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
