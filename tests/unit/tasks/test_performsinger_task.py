"""PerformSinger through espnet's trainer: stage one, stage two from its checkpoint, duration-free decoding."""


import numpy as np
import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.configs import shrunk_config, train
from tests.support.tiny_dump import write_tiny_dump
from tests.support.paths import CONF

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Stage one, then stage two initialised from it (1 epoch each on 4 utterances)."""
    tmp_path = tmp_path_factory.mktemp("performsinger")
    dump = write_tiny_dump(tmp_path / "dump")
    one_exp, two_exp = tmp_path / "exp" / "svs_stylesinger", tmp_path / "exp" / "svs_performsinger"
    train(shrunk_config("train_stylesinger.yaml", tmp_path), dump, one_exp)
    train(shrunk_config("train_performsinger.yaml", tmp_path), dump, two_exp,
           ["--stage_one_checkpoint", str(one_exp / "1epoch.pth")])
    return dict(tmp=tmp_path, dump=dump, one=one_exp, two=two_exp)


def test_two_stage_training(trained):
    one_state = torch.load(trained["one"] / "1epoch.pth", map_location="cpu")
    two_state = torch.load(trained["two"] / "1epoch.pth", map_location="cpu")
    assert not any(k.startswith(("svs.fusion.", "svs.lip_encoder.")) for k in one_state)
    assert any(k.startswith("svs.fusion.") for k in two_state)
    assert {k for k in one_state if k.startswith("svs.")} <= set(two_state)
    # the stage-two run started from the stage-one weights: a bad checkpoint must stop it
    bad = trained["tmp"] / "bad.pth"
    torch.save({k: v for k, v in one_state.items() if not k.startswith("svs.duration.")}, bad)
    with pytest.raises(ValueError, match="duration"):
        train(shrunk_config("train_performsinger.yaml", trained["tmp"]), trained["dump"],
               trained["tmp"] / "exp" / "bad", ["--stage_one_checkpoint", str(bad)])


def _decode_streams(dump):
    return [(f"{dump}/text", "text", "text"), (f"{dump}/label", "label", "duration"),
            (f"{dump}/score.scp", "score", "score"), (f"{dump}/spembs.scp", "spembs", "kaldi_ark"),
            (f"{dump}/lip.scp", "lip", "npy")]


def test_wrapper_inference_is_duration_free(trained):
    """espnet's model wrapper (as used by the decoder) -> PerformSinger.inference, no GT durations read."""
    dump, exp = trained["dump"], trained["two"]
    model, train_args = VisualSVSTask.build_model_from_file(exp / "config.yaml", exp / "1epoch.pth")
    model.eval()
    loader = VisualSVSTask.build_streaming_iterator(
        _decode_streams(dump), dtype="float32", batch_size=1, key_file=None, num_workers=0,
        preprocess_fn=VisualSVSTask.build_preprocess_fn(train_args, False),
        collate_fn=VisualSVSTask.build_collate_fn(train_args, False), allow_variable_data_keys=False,
        inference=True)
    texts = {ln.split()[0]: ln.split()[1:] for ln in (dump / "text").read_text().splitlines()}
    n = 0
    for keys, batch in loader:
        lip, lip_lengths = batch.pop("lip"), batch.pop("lip_lengths")
        batch = {k: v[0] for k, v in batch.items() if not k.endswith("_lengths")}
        outs = []
        for scale in (1, 3):  # GT durations scaled: the output must not change
            b = dict(batch)
            b["duration_phn"] = batch["duration_phn"] * scale
            with torch.no_grad():
                outs.append(model.inference(**b, lip=lip, lip_lengths=lip_lengths, use_teacher_forcing=False,
                                            sampler="auto", steps=3, seed=0))
        a, c = outs
        assert torch.equal(a["feat_gen"], c["feat_gen"]) and torch.equal(a["duration"], c["duration"])
        phones = texts[keys[0]]
        assert a["duration"].shape == (len(phones),)
        assert all(int(d) >= 1 for ph, d in zip(phones, a["duration"]) if ph not in ("SP", "AP"))
        assert a["feat_gen"].shape == (int(a["duration"].sum()), 80)
        assert a["attn"].shape == (len(phones), lip.shape[1])
        assert a["f0"].shape == (a["feat_gen"].shape[0],)
        n += 1
    assert n == 4


def test_decoding_cli(trained):
    pytest.importorskip("espnet2_ext.vocoder.build")
    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    dump, exp = trained["dump"], trained["two"]
    out = trained["tmp"] / "decode"
    streams = []
    for path, name, typ in _decode_streams(dump):
        streams += ["--data_path_and_name_and_type", f"{path},{name},{typ}"]
    streams += ["--ref_wav_scp", f"{dump}/ref_wav.scp"]
    infer_main([
        "--config", str(CONF / "decode_fast.yaml"),
        "--model_file", str(exp / "1epoch.pth"), "--train_config", str(exp / "config.yaml"),
        "--output_dir", str(out), "--vocoder", "griffin_lim", "--progress", "false", *streams,
    ])
    durations = [ln.split() for ln in (out / "durations").read_text().splitlines()]
    texts = {ln.split()[0]: ln.split()[1:] for ln in (dump / "text").read_text().splitlines()}
    assert len(durations) == 4
    for utt, *d in durations:
        assert len(d) == len(texts[utt])
    attn = sorted((out / "attn").glob("*.npy"))
    assert len(attn) == 4 and np.load(attn[0]).shape[0] == len(texts[attn[0].stem])
    assert len([w for w in (out / "wav.scp").read_text().split("\n") if w]) == 4


def test_decoding_several_sets_in_one_process(trained):
    """--data_dir repeated: each set lands in its own output dir, as the one-set-per-process decode gives it."""
    pytest.importorskip("espnet2_ext.vocoder.build")
    import kaldiio

    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    dump, exp, tmp = trained["dump"], trained["two"], trained["tmp"]
    utts = [ln.split()[0] for ln in (dump / "text").read_text().splitlines()]
    keys = tmp / "keys_two.scp"
    keys.write_text("".join(f"{u} x\n" for u in utts[:2]))
    common = ["--config", str(CONF / "decode_fast.yaml"), "--model_file", str(exp / "1epoch.pth"),
              "--train_config", str(exp / "config.yaml"), "--vocoder", "griffin_lim", "--progress", "false"]
    streams = []
    for path, name, typ in _decode_streams(dump):
        streams += ["--data_path_and_name_and_type", f"{path},{name},{typ}"]
    streams += ["--ref_wav_scp", f"{dump}/ref_wav.scp"]
    infer_main(common + streams + ["--output_dir", str(tmp / "one"), "--key_file", str(keys)])
    infer_main(common + ["--data_dir", str(dump), "--data_dir", str(dump),
                         "--output_dir", str(tmp / "all"), "--output_dir", str(tmp / "two"),
                         "--key_file", str(dump / "text"), "--key_file", str(keys)])
    assert len((tmp / "all" / "durations").read_text().splitlines()) == len(utts)
    assert (tmp / "two" / "durations").read_text() == (tmp / "one" / "durations").read_text()
    one = dict(kaldiio.load_scp(str(tmp / "one" / "feats.scp")))
    two = dict(kaldiio.load_scp(str(tmp / "two" / "feats.scp")))
    assert sorted(two) == sorted(utts[:2])
    for utt in utts[:2]:
        np.testing.assert_array_equal(one[utt], two[utt])
    assert sorted(p.stem for p in (tmp / "two" / "wav").glob("*.wav")) == sorted(utts[:2])
    with pytest.raises(ValueError, match="--key_file was given 1 times for 2 set"):
        infer_main(common + ["--data_dir", str(dump), "--data_dir", str(dump), "--output_dir", str(tmp / "x"),
                             "--output_dir", str(tmp / "y"), "--key_file", str(keys)])
    with pytest.raises(ValueError, match="either --data_dir"):
        infer_main(common + streams + ["--data_dir", str(dump), "--output_dir", str(tmp / "x")])
    assert not (tmp / "x").exists()


def test_decoding_a_data_dir_without_text_names_the_file(tmp_path):
    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    (tmp_path / "dump" / "test").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"dump/test/text not found"):
        infer_main(["--model_file", "m.pth", "--data_dir", str(tmp_path / "dump" / "test"),
                    "--output_dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_lr_scale_gives_a_sub_module_its_own_learning_rate():
    import argparse

    from espnet2.schedulers.warmup_lr import WarmupLR

    svs = torch.nn.Module()
    svs.lip_reader, svs.decoder = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    model = torch.nn.Module()
    model.svs = svs
    args = argparse.Namespace(optim="adam", optim_conf={"lr": 1e-3}, lr_scale={"lip_reader": 5.0})
    (opt,) = VisualSVSTask.build_optimizers(args, model)
    groups = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert groups[id(svs.lip_reader.weight)] == pytest.approx(5e-3) and groups[id(svs.decoder.weight)] == 1e-3
    sched = WarmupLR(opt, warmup_steps=10)  # the scheduler keeps the ratio
    for _ in range(20):
        opt.step()
        sched.step()
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[1] == pytest.approx(5 * lrs[0])
    with pytest.raises(ValueError, match="fusion"):
        VisualSVSTask.build_optimizers(argparse.Namespace(optim="adam", optim_conf={"lr": 1e-3},
                                                          lr_scale={"fusion": 2.0}), model)
