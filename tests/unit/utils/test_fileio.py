"""Kaldi-style tables and atomic writes (espnet2_ext/utils/fileio.py)."""

import pytest

from espnet2_ext.utils.fileio import atomic_path, atomic_write_text, read_scp, read_scp_dict


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
