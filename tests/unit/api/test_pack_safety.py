"""Packs from strangers: members that would land outside the extraction dir, links, oversize members."""

import stat
import zipfile

import pytest
import yaml

from espnet2_ext.api.pack import PackError, load_pack


def _pack(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.yaml", yaml.safe_dump({"files": {"model_file": "m.pth"},
                                                 "yaml_files": {"train_config": "config.yaml"}}))
        zf.writestr("config.yaml", "svs: performsinger\n")
        zf.writestr("m.pth", b"0")
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("name,mode,why", [
    ("../evil.txt", None, "climbs out"),
    ("a/../../evil.txt", None, "climbs out"),
    ("/tmp/evil_abs.txt", None, "absolute"),
    ("link", stat.S_IFLNK | 0o777, "symbolic link"),
])
def test_a_member_outside_the_extraction_dir_is_refused(tmp_path, name, mode, why):
    data = "../../outside" if mode else "pwned"
    pack = _pack(tmp_path / "bad.zip", [(name, data, mode)])
    dest = tmp_path / "x" / "dest"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(PackError, match=why) as e:
        load_pack(pack, dest)
    assert repr(name) in str(e.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing extracted anywhere
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "x" / "evil.txt").exists()


def test_an_oversize_member_and_a_missing_member_are_refused(tmp_path):
    pack = _pack(tmp_path / "big.zip", [("big.bin", b"x" * 5000, None)])
    with pytest.raises(PackError, match="'big.bin' is 5000 bytes, over the 1000-byte member limit"):
        load_pack(pack, tmp_path / "d1", max_member_bytes=1000)
    assert not (tmp_path / "d1").exists()
    with zipfile.ZipFile(tmp_path / "missing.zip", "w") as zf:
        zf.writestr("meta.yaml", yaml.safe_dump({"files": {"model_file": "m.pth"},
                                                 "yaml_files": {"train_config": "config.yaml"}}))
        zf.writestr("config.yaml", "svs: performsinger\n")
    with pytest.raises(PackError, match="'m.pth' \\(model_file of meta.yaml\\) missing"):
        load_pack(tmp_path / "missing.zip", tmp_path / "d2")
    assert not (tmp_path / "d2").exists()


def test_the_config_is_read_with_safe_load(tmp_path):
    """A YAML tag that would build a Python object is an error, never run."""
    with zipfile.ZipFile(tmp_path / "tag.zip", "w") as zf:
        zf.writestr("meta.yaml", "files: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(PackError, match="'meta.yaml' is not plain YAML"):
        load_pack(tmp_path / "tag.zip", tmp_path / "d")
    assert not (tmp_path / "pwned").exists()


def test_a_good_pack_extracts_with_config_paths_inside_it(tmp_path):
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("meta.yaml", yaml.safe_dump({"files": {"model_file": "exp/s/m.pth"},
                                                 "yaml_files": {"train_config": "exp/s/config.yaml"}}))
        zf.writestr("exp/s/config.yaml", yaml.safe_dump({"normalize_conf": {"stats_file": "exp/s/stats.npz"}}))
        zf.writestr("exp/s/m.pth", b"0")
        zf.writestr("exp/s/stats.npz", b"0")
    packed = load_pack(tmp_path / "ok.zip", tmp_path / "d")
    conf = yaml.safe_load(packed.config.read_text())
    assert conf["normalize_conf"]["stats_file"] == str((tmp_path / "d" / "exp/s/stats.npz").absolute())
    assert packed.model_file.is_file()
    with pytest.raises(PackError, match="not empty"):
        load_pack(tmp_path / "ok.zip", tmp_path / "d")


def _fake_exp(root, **extra):
    exp = root / "recipe" / "exp" / "svs_x"
    (exp / "lip_reader").mkdir(parents=True)
    (exp / "valid.loss.best.pth").write_bytes(b"0")
    (exp / "lip_reader" / "lip_reader.pth").write_bytes(b"1")
    conf = {"token_list": ["<blank>", "a", "<sos/eos>"], "output_dir": str(exp), "feats_extract_conf": {"fs": 16000},
            "train_data_path_and_name_and_type": [[str(root / "recipe" / "dump" / "text"), "text", "text"]],
            "svs_conf": {"lip_reader_conf": {"pretrained": "exp/svs_x/lip_reader/lip_reader.pth"},
                         "lip_encoder_conf": {"pretrained": "exp/lip_pretrain/lip_encoder.pth"}}, **extra}
    (exp / "config.yaml").write_text(yaml.safe_dump(conf))
    return exp


def test_write_pack_keeps_nothing_of_the_recipe_and_ships_heads_and_vocoder(tmp_path):
    from espnet2_ext.api.pack import write_pack

    exp = _fake_exp(tmp_path)
    (tmp_path / "gen.pth").write_bytes(b"2")
    out = write_pack(exp, tmp_path / "x.zip", vocoder_checkpoint=str(tmp_path / "gen.pth"),
                     roi_conf={"front_end": "haar", "crop_scale": 0.6})
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        meta = yaml.safe_load(zf.read("meta.yaml"))
        conf_text = zf.read("exp/svs_x/config.yaml").decode()
    assert {"exp/svs_x/model.pth", "exp/svs_x/tokens.txt", "exp/svs_x/lip_reader.pth", "exp/svs_x/vocoder.pth"} <= names
    assert meta["vocoder"] == {"kind": "hifigan", "checkpoint": "exp/svs_x/vocoder.pth"}
    # stage 3's front end explicit, every option written in; stage 2's F0 extractor and d-vector encoder
    assert meta["lip_roi_conf"]["front_end"] == "haar" and meta["lip_roi_conf"]["crop_scale"] == 0.6
    assert meta["lip_roi_conf"]["detect_conf"]["cascades"] and "smooth_conf" in meta["lip_roi_conf"]
    assert meta["f0_conf"]["extractor"] == "parselmouth_ac" and len(meta["dvector"]["weights_sha256"]) == 64
    assert meta["files"]["model_file"] == "exp/svs_x/model.pth"
    assert str(tmp_path) not in conf_text and "lip_pretrain" not in conf_text
    with pytest.raises(PackError, match=r"extra_path = .* refers to the recipe's files"):
        write_pack(_fake_exp(tmp_path / "b", extra_path=str(tmp_path / "b" / "recipe" / "dump" / "x")),
                   tmp_path / "y.zip", roi_conf={"front_end": "haar"})
    assert not (tmp_path / "y.zip").exists()


@pytest.mark.parametrize("roi_conf", [None, {}, {"crop_scale": 0.65}, {"front_end": "auto"}])
def test_a_pack_needs_stage_3s_explicit_front_end(tmp_path, roi_conf):
    """A front end left to 'auto' would be chosen again on the user's machine: refused, nothing written."""
    from espnet2_ext.api.pack import write_pack

    with pytest.raises(PackError, match="front end of stage 3 is not explicit"):
        write_pack(_fake_exp(tmp_path), tmp_path / "x.zip", roi_conf=roi_conf)
    assert not (tmp_path / "x.zip").exists()


def test_pack_model_reads_the_roi_conf_of_the_lip_report(tmp_path, caplog):
    """Stage 9 packs what stage 3 recorded; a report from before that record is one clear error."""
    import json

    from espnet2_ext.bin.pack_model import main

    exp = _fake_exp(tmp_path)
    report = tmp_path / "lip_report.json"
    report.write_text(json.dumps({"num_utts": 3}))
    with pytest.raises(SystemExit):
        main(["--exp_dir", str(exp), "--out", str(tmp_path / "x.zip"), "--lip_report", str(report)])
    assert f"{report}: records no roi_conf" in caplog.text and not (tmp_path / "x.zip").exists()
    report.write_text(json.dumps({"roi_conf": {"front_end": "haar", "crop_scale": 0.7}}))
    main(["--exp_dir", str(exp), "--out", str(tmp_path / "x.zip"), "--lip_report", str(report)])
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        meta = yaml.safe_load(zf.read("meta.yaml"))
    assert meta["lip_roi_conf"]["front_end"] == "haar" and meta["lip_roi_conf"]["crop_scale"] == 0.7
