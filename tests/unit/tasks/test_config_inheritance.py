"""Configs that inherit (base_config:), the shell's key reader, and the derived frame rate."""

import argparse
import subprocess
import sys

import pytest
import yaml

from espnet2_ext.utils.config import ConfigError, get, load_config, merge


def _write(path, data):
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_merge_is_recursive_for_mappings_only():
    base = {"svs_conf": {"hidden": 64, "fusion_conf": {"blocks": 2, "heads": 2}}, "betas": [0.9, 0.98], "x": 1}
    child = {"svs_conf": {"fusion_conf": {"heads": 4}}, "betas": [0.5], "x": None}
    out = merge(base, child)
    assert out == {"svs_conf": {"hidden": 64, "fusion_conf": {"blocks": 2, "heads": 4}}, "betas": [0.5], "x": None}
    assert base["svs_conf"]["fusion_conf"]["heads"] == 2, "merge must not modify its inputs"


def test_chain_of_bases_relative_to_each_file(tmp_path):
    (tmp_path / "base").mkdir()
    _write(tmp_path / "base" / "root.yaml", {"max_epoch": 10, "svs_conf": {"hidden": 64, "use_visual": False}})
    _write(tmp_path / "base" / "visual.yaml", {"base_config": "root.yaml", "svs_conf": {"use_visual": True}})
    child = _write(tmp_path / "sys.yaml", {"base_config": "base/visual.yaml", "max_epoch": 12})
    conf = load_config(child)
    assert conf == {"max_epoch": 12, "svs_conf": {"hidden": 64, "use_visual": True}}
    assert get(conf, "svs_conf.use_visual") is True and get(conf, "svs_conf.nope") is None


def test_list_of_bases_merges_left_to_right(tmp_path):
    _write(tmp_path / "a.yaml", {"k": 1, "m": {"a": 1}})
    _write(tmp_path / "b.yaml", {"k": 2, "m": {"b": 2}})
    conf = load_config(_write(tmp_path / "c.yaml", {"base_config": ["a.yaml", "b.yaml"]}))
    assert conf == {"k": 2, "m": {"a": 1, "b": 2}}


def test_bad_configs_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_config(_write(tmp_path / "x.yaml", {"base_config": "missing.yaml"}))
    _write(tmp_path / "p.yaml", {"base_config": "q.yaml"})
    _write(tmp_path / "q.yaml", {"base_config": "p.yaml"})
    with pytest.raises(ConfigError, match="loop"):
        load_config(tmp_path / "p.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml.*mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_config(tmp_path / "broken.yaml")


def test_cli_prints_a_key_or_an_empty_line(tmp_path):
    _write(tmp_path / "b.yaml", {"svs": "performsinger", "svs_conf": {"use_visual": True}})
    c = _write(tmp_path / "c.yaml", {"base_config": "b.yaml"})
    run = lambda *a: subprocess.run([sys.executable, "-m", "espnet2_ext.utils.config", *a],  # noqa: E731
                                    capture_output=True, text=True)
    assert run(str(c), "svs_conf.use_visual").stdout == "True\n"
    assert run(str(c), "svs_conf.absent").stdout == "\n"
    bad = run(str(tmp_path / "none.yaml"), "svs")
    assert bad.returncode == 1 and "none.yaml" in bad.stderr


def test_task_parser_reads_inherited_configs(tmp_path):
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    _write(tmp_path / "base.yaml", {"max_epoch": 3, "svs": "performsinger", "svs_conf": {"hidden": 32}})
    child = _write(tmp_path / "child.yaml", {"base_config": "base.yaml", "max_epoch": 5})
    args = VisualSVSTask.get_parser().parse_args(["--config", str(child)])
    assert args.max_epoch == 5 and args.svs == "performsinger" and args.svs_conf == {"hidden": 32}
    _write(tmp_path / "typo.yaml", {"base_config": "base.yaml", "max_epochs": 5})
    with pytest.raises(SystemExit):
        VisualSVSTask.get_parser().parse_args(["--config", str(tmp_path / "typo.yaml")])


def test_frame_rate_is_derived_and_a_wrong_one_refused():
    from espnet2_ext.tasks.visual_svs import derive_frame_rate

    args = argparse.Namespace(svs="performsinger", svs_conf={"hidden": 8},
                              feats_extract_conf={"fs": 22050, "hop_length": 256})
    derive_frame_rate(args)
    assert args.svs_conf["frame_rate"] == pytest.approx(22050 / 256)
    args.svs_conf["frame_rate"] = 187.5
    with pytest.raises(ValueError, match="frame_rate 187.5 does not match"):
        derive_frame_rate(args)
    other = argparse.Namespace(svs="hpmdubbing", svs_conf={}, feats_extract_conf={"fs": 22050, "hop_length": 256})
    derive_frame_rate(other)  # HPMDubbing takes the grid as fs and hop_length
    assert other.svs_conf == {"fs": 22050, "hop_length": 256}
    other.svs_conf["hop_length"] = 300
    with pytest.raises(ValueError, match="svs_conf.hop_length 300 does not match"):
        derive_frame_rate(other)


def test_frame_grid_of_a_recipe_config_without_the_task():
    from espnet2_ext.tasks.visual_svs import derive_frame_grid
    from tests.support.paths import RECIPE

    conf = load_config(RECIPE / "conf" / "tuning" / "train_performsinger_paper.yaml")
    assert "frame_rate" not in conf["svs_conf"]
    svs_conf = derive_frame_grid(conf["svs"], conf["svs_conf"], conf["feats_extract_conf"])
    assert svs_conf["frame_rate"] == 187.5 and "frame_rate" not in conf["svs_conf"], "the input is not modified"
    assert derive_frame_grid("performsinger", {"hidden": 8}, {}) == {"hidden": 8}  # no grid given: as it is
