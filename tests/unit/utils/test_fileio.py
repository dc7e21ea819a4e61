"""Kaldi-style tables and atomic writes (espnet2_ext/utils/fileio.py)."""

import pytest

from espnet2_ext.utils.fileio import (atomic_ark_scp, atomic_dir, atomic_path, atomic_write_text, read_scp,
                                      read_scp_dict, read_table)


def test_read_scp_keeps_order_and_values_with_spaces(tmp_path):
    p = tmp_path / "wav.scp"
    p.write_text("b /data/a b.wav\n\na /x.wav\n", encoding="utf-8")
    assert read_scp(p) == [("b", "/data/a b.wav"), ("a", "/x.wav")]
    assert read_scp_dict(p) == {"b": "/data/a b.wav", "a": "/x.wav"}


def test_bad_lines_and_repeated_keys_name_the_file_and_line(tmp_path):
    p = tmp_path / "bad.scp"
    p.write_text("u1 x\nlonely\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.scp:2: expected"):
        read_scp(p)
    p.write_text("u1 x\nu2 y\nu1 z\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.scp:3: 'u1' already given on line 1"):
        read_scp_dict(p)


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    p = tmp_path / "out.txt"
    atomic_write_text(p, "old\n")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert p.read_text() == "old\n" and list(tmp_path.iterdir()) == [p]


def test_read_table_fields_parse_and_errors_name_the_line(tmp_path):
    p = tmp_path / "durations"
    p.write_text("u1 3 4\n\nu2 5\n", encoding="utf-8")
    assert read_table(p, 1) == {"u1": ["3", "4"], "u2": ["5"]}
    assert read_table(p, 1, parse=lambda f: sum(map(int, f))) == {"u1": 7, "u2": 5}
    with pytest.raises(ValueError, match=r"durations:3: expected at least 3 fields"):
        read_table(p, 3)

    def bad(fields):
        raise ValueError("not a number")

    with pytest.raises(ValueError, match=r"durations:1: not a number"):
        read_table(p, 1, parse=bad)
    p.write_text("u1 3\nu1 4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"durations:2: 'u1' already given on line 1"):
        read_table(p, 1)


def test_fixed_durations_on_the_table_reader(tmp_path):
    from espnet2_ext.utils.decode_inputs import read_fixed_durations

    p = tmp_path / "durations"
    p.write_text("u1 3 0 2\n", encoding="utf-8")
    assert read_fixed_durations(p)["u1"].tolist() == [3, 0, 2]
    for text, msg in (("u1 3 x\n", "durations:1: durations must be integers"),
                      ("u1\n", "durations:1: expected '<utt> d1 ... dN'"), ("u1 -1\n", "non-negative")):
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=msg):
            read_fixed_durations(p)


def test_atomic_dir_replaces_only_on_success(tmp_path):
    out = tmp_path / "set"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "b").write_text("half")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in out.iterdir()) == ["a"] and sorted(tmp_path.iterdir()) == [out]
    with atomic_dir(out) as tmp:
        (tmp / "c").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["c"]


def test_atomic_ark_scp_names_the_final_ark(tmp_path):
    import kaldiio
    import numpy as np

    ark, scp = tmp_path / "f0.ark", tmp_path / "f0.scp"
    with atomic_ark_scp(ark, scp) as w:
        w("u1", np.arange(3, dtype=np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f0.ark", "f0.scp"]
    assert str(ark) in scp.read_text() and kaldiio.load_scp(str(scp))["u1"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError), atomic_ark_scp(ark, scp) as w:
        w("u2", np.zeros(2, dtype=np.float32))
        raise RuntimeError("extraction failed")
    assert list(kaldiio.load_scp(str(scp))) == ["u1"] and len(list(tmp_path.iterdir())) == 2
