"""The recipe's questions to Python: system_needs (what a config's system needs), data_args (the
data arguments of a training from the dump streams), make_token_list, report_summary."""

import json

import pytest

from espnet2_ext.bin import data_args, make_token_list, report_summary, system_needs
from espnet2_ext.tasks.dump_streams import STREAMS, streams_for, triples
from tests.support.paths import CONF



def test_one_field_prints_as_the_shell_reads_it(capsys):
    assert system_needs.main(["--config", str(CONF / "train_performsinger_single_stage.yaml"), "--field", "two_stage"]) == 0
    assert capsys.readouterr().out == "false\n"
    assert system_needs.main(["--config", str(CONF / "train_performsinger.yaml"), "--field", "duration_sources"]) == 0
    assert capsys.readouterr().out == "predictor attention lipreader\n"


def test_every_field_without_field(capsys):
    assert system_needs.main(["--config", str(CONF / "tuning" / "train_hpmdubbing_paper.yaml")]) == 0
    lines = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                 for line in capsys.readouterr().out.splitlines())
    assert lines["reads_lips"] == "true" and lines["two_stage"] == "false" and lines["decode_options"] == ""
    assert set(lines) == set(system_needs.FIELDS)


@pytest.mark.parametrize("text, msg", [
    ("svs: nosuch\nsvs_conf: {}\n", "'nosuch' is not a registered SVS class"),
    ("svs_conf: {use_visual: true}\n", "no 'svs:'"),
    ("svs: performsinger\nsvs_conf: [1, 2]\n", "svs_conf must be a mapping"),
    ("svs: [unclosed\n", "not valid YAML"),
])
def test_bad_configs_are_errors_naming_the_file(tmp_path, capsys, text, msg):
    path = tmp_path / "train_x.yaml"
    path.write_text(text)
    assert system_needs.main(["--config", str(path), "--field", "two_stage"]) == 1
    err = capsys.readouterr()
    assert err.out == "" and str(path) in err.err and msg in err.err


def test_missing_config_names_the_file(tmp_path, capsys):
    assert system_needs.main(["--config", str(tmp_path / "none.yaml")]) == 1
    assert f"{tmp_path / 'none.yaml'}: cannot read config" in capsys.readouterr().err


def test_dump_streams_per_use():
    assert [s.file for s in streams_for("stats")] == ["text", "wav.scp", "label", "score.scp", "pitch.scp"]
    assert [s.name for s in streams_for("train", lip=False)] == ["text", "singing", "label", "score", "pitch", "spembs"]
    assert [s.file for s in streams_for("decode")] == ["text", "label", "score.scp", "spembs.scp", "lip.scp"]
    assert {s.file for s in STREAMS} == {"text", "wav.scp", "label", "score.scp", "pitch.scp", "spembs.scp", "lip.scp"}
    with pytest.raises(ValueError, match="unknown use"):
        streams_for("eval")


def test_decode_takes_the_streams_a_set_has(tmp_path):
    for f in ("text", "label", "score.scp", "spembs.scp"):
        (tmp_path / f).write_text("")
    assert [t[1] for t in triples(tmp_path, "decode", existing_only=True)] == ["text", "label", "score", "spembs"]
    assert triples(tmp_path, "decode")[-1] == (str(tmp_path / "lip.scp"), "lip", "npy")


def _words(capsys, *argv):
    assert data_args.main(list(argv)) == 0
    return capsys.readouterr().out.split()


def test_training_data_args_follow_the_system(capsys):
    dirs = ["--train_dir", "dump/raw/train", "--valid_dir", "dump/raw/dev",
            "--train_shape_file", "st/train/singing_shape", "--valid_shape_file", "st/valid/singing_shape"]
    visual = _words(capsys, "--use", "train", "--config", str(CONF / "train_hpmdubbing.yaml"), *dirs)
    assert visual[:2] == ["--train_data_path_and_name_and_type", "dump/raw/train/text,text,text"]
    assert "dump/raw/train/lip.scp,lip,npy" in visual and "dump/raw/dev/lip.scp,lip,npy" in visual
    i = visual.index("--train_shape_file")
    assert visual[i + 1] == "st/train/singing_shape" and visual[i + 2] == "--valid_data_path_and_name_and_type"
    assert visual[-2:] == ["--valid_shape_file", "st/valid/singing_shape"]
    audio = _words(capsys, "--use", "train", "--config", str(CONF / "train_stylesinger.yaml"), *dirs)
    assert [w for w in audio if "lip" in w] == [] and "dump/raw/dev/spembs.scp,spembs,kaldi_ark" in audio
    stats = _words(capsys, "--use", "stats", *dirs)
    assert len(stats) == 2 * (2 * 5 + 2) and not [w for w in stats if "spembs" in w or "lip" in w]


def test_token_list(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 sh a  n\nu2 a i\n")
    out = tmp_path / "token_list" / "phn" / "tokens.txt"
    make_token_list.main(["--text", str(text), "--out", str(out)])
    assert out.read_text().split("\n") == ["<blank>", "<unk>", "a", "i", "n", "sh", "<sos/eos>", ""]


def test_report_summaries(tmp_path, capsys):
    report = tmp_path / "lip_report.json"
    report.write_text(json.dumps({"front_end": "haar", "detection_rate": 1.0, "other": 3}))
    report_summary.main(["--lip_report", str(report)])
    out = capsys.readouterr().out
    assert out.startswith("{'front_end': 'haar', 'detection_rate': 1.0, 'center_err_px_median': None") and "other" not in out
    log = tmp_path / "log.json"
    log.write_text(json.dumps({"epochs": [{"valid_frame_acc": 0.2}, {"valid_frame_acc": 0.41234}],
                               "best_epoch": 2, "chance": 0.1}))
    report_summary.main(["--lip_pretrain_log", str(log)])
    assert capsys.readouterr().out == "best valid frame acc 0.412 (epoch 2), chance 0.100\n"
    assert report_summary.main(["--lip_pretrain_log", str(tmp_path / "none.json")]) == 0
    assert capsys.readouterr().out == "\n"


def test_the_shell_questions_import_no_torch():
    import subprocess
    import sys

    code = ("import sys\nimport espnet2_ext.bin.system_needs, espnet2_ext.bin.data_args\n"
            "from espnet2_ext.bin.system_needs import needs_of_config\n"
            f"needs_of_config({str(CONF / 'train_hpmdubbing.yaml')!r})\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
