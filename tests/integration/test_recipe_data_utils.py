"""The recipe's scp and data-dir tools (split_scp.pl, filter/shuffle, validate/fix/combine/copy/
subset_data_dir.sh), run as subprocesses on small data dirs."""

import pytest

from tests.support.shell import UTILS, make_data_dir, run, write


# ------------------------------------------------------------------ scp tools
def test_split_scp_even_and_by_speaker(tmp_path):
    utts = [f"s{s}_{i:02d}" for s, n in ((1, 5), (2, 2), (3, 3)) for i in range(n)]
    write(tmp_path / "in.scp", "".join(f"{u} /x/{u}\n" for u in utts))
    write(tmp_path / "utt2spk", "".join(f"{u} {u.split('_')[0]}\n" for u in utts))
    run([UTILS / "split_scp.pl", "in.scp", "o1", "o2", "o3"], tmp_path, check=True)
    parts = [(tmp_path / f"o{i}").read_text().splitlines() for i in (1, 2, 3)]
    assert sorted(len(x) for x in parts) == [3, 3, 4]
    assert sum(parts, []) == (tmp_path / "in.scp").read_text().splitlines()
    run([UTILS / "split_scp.pl", "--utt2spk", "utt2spk", "in.scp", "o1", "o2"], tmp_path, check=True)
    spk_sets = [{ln.split("_")[0] for ln in (tmp_path / f"o{i}").read_text().splitlines()} for i in (1, 2)]
    assert spk_sets[0] and spk_sets[1] and not (spk_sets[0] & spk_sets[1])
    assert [len((tmp_path / f"o{i}").read_text().splitlines()) for i in (1, 2)] == [5, 5]
    p = run([UTILS / "split_scp.pl", "--utt2spk", "utt2spk", "in.scp", "a", "b", "c", "d"], tmp_path, check=False)
    assert "3 speaker" in p.stderr
    p = run([UTILS / "split_scp.pl", "in.scp"] + [f"x{i}" for i in range(11)], tmp_path, check=False)
    assert "in.scp" in p.stderr and "10 line" in p.stderr
    assert not (tmp_path / "x0").exists()


def test_spk2utt_filter_shuffle(tmp_path):
    write(tmp_path / "utt2spk", "a_1 a\na_2 a\nb_1 b\n")
    p = run([UTILS / "utt2spk_to_spk2utt.pl", "utt2spk"], tmp_path, check=True)
    assert p.stdout == "a a_1 a_2\nb b_1\n"
    write(tmp_path / "spk2utt", p.stdout)
    p = run([UTILS / "spk2utt_to_utt2spk.pl", "spk2utt"], tmp_path, check=True)
    assert p.stdout == "a_1 a\na_2 a\nb_1 b\n"
    write(tmp_path / "ids", "a_2\nb_1 extra\n")
    assert run([UTILS / "filter_scp.pl", "ids", "utt2spk"], tmp_path).stdout == "a_2 a\nb_1 b\n"
    assert run([UTILS / "filter_scp.pl", "--exclude", "ids", "utt2spk"], tmp_path).stdout == "a_1 a\n"
    write(tmp_path / "l", "".join(f"{i}\n" for i in range(50)))
    s1 = run([UTILS / "shuffle_list.pl", "--srand", "3", "l"], tmp_path, check=True).stdout
    s2 = run([UTILS / "shuffle_list.pl", "--srand", "3", "l"], tmp_path, check=True).stdout
    s3 = run([UTILS / "shuffle_list.pl", "--srand", "4", "l"], tmp_path, check=True).stdout
    assert s1 == s2 != s3 and sorted(s1.split()) == sorted(s3.split()) and s1 != (tmp_path / "l").read_text()


# ------------------------------------------------------------------ data dirs
def validate(d, *opts):
    return run([UTILS / "validate_data_dir.sh", *opts, d], d.parent)


def test_validate_accepts_good_dir(tmp_path):
    d = make_data_dir(tmp_path / "d")
    assert validate(d, "--no-feats").returncode == 0
    p = validate(d)
    assert p.returncode != 0 and "feats.scp" in p.stderr


@pytest.mark.parametrize("bad,expected", [
    ({"video.scp": "a_1 v\nb_1 v\na_2 v\nb_2 v\n"}, ["video.scp:3", "sorted"]),  # unsorted
    ({"score.scp": "a_1 s\na_2 s\nb_1 s\n",  # b_2 missing; an empty line and an extra utterance
      "label": "a_1 0 1 n\na_2 0 1 n\n\nb_1 0 1 n\nb_2 0 1 n\nc_1 0 1 n\n"},
     ["score.scp", "b_2", "label:3: empty line", "c_1"]),
    ({"spk2utt": "a a_1\nb b_1 b_2\n"}, ["spk2utt:1", "'a'"]),  # inconsistent with utt2spk
], ids=["unsorted", "mismatched_utts_and_empty_lines", "spk2utt_inconsistency"])
def test_validate_catches(tmp_path, bad, expected):
    d = make_data_dir(tmp_path / "d")
    for name, text in bad.items():
        write(d / name, text)
    p = validate(d, "--no-feats")
    assert p.returncode != 0
    for word in expected:
        assert word in p.stderr, word


def test_fix_data_dir_repairs_and_backs_up(tmp_path):
    d = make_data_dir(tmp_path / "d")
    bad = {
        "video.scp": "a_1 v\nb_1 v\na_2 v\nb_2 v\n",          # unsorted
        "score.scp": "a_1 s\na_2 s\nb_1 s\n",                  # b_2 missing
        "spk2utt": "a a_1\nb b_1 b_2\n",                       # inconsistent
        "label": "a_1 0 1 n\n\na_2 0 1 n\nb_1 0 1 n\nb_2 0 1 n\n",  # empty line
    }
    for name, text in bad.items():
        write(d / name, text)
    p = run([UTILS / "fix_data_dir.sh", d], tmp_path, check=True)
    assert "kept 3 of 4" in p.stderr and "removed 1" in p.stderr
    assert validate(d, "--no-feats").returncode == 0
    for name, text in bad.items():
        assert (d / ".backup" / name).read_text() == text
    assert (d / "video.scp").read_text() == "a_1 v\na_2 v\nb_1 v\n"
    assert (d / "spk2utt").read_text() == "a a_1 a_2\nb b_1\n"
    assert (d / ".backup/removed_utts").read_text() == "b_2\n"
    assert (d / "lip_report.json").read_text() == '{"detection_rate": 1.0}\n'
    # a second run finds nothing to do and keeps the backups
    p = run([UTILS / "fix_data_dir.sh", d], tmp_path, check=True)
    assert "nothing to fix" in p.stderr
    assert (d / ".backup/score.scp").read_text() == bad["score.scp"]


def test_combine_copy_subset(tmp_path):
    make_data_dir(tmp_path / "s1", utts=(("a_1", "a"), ("a_2", "a")))
    make_data_dir(tmp_path / "s2", utts=(("b_1", "b"),))
    write(tmp_path / "s1/only_here.scp", "a_1 x\na_2 x\n")
    p = run([UTILS / "combine_data.sh", "c", "s1", "s2"], tmp_path, check=True)
    assert "only_here.scp" in p.stderr and not (tmp_path / "c/only_here.scp").exists()
    assert (tmp_path / "c/spk2utt").read_text() == "a a_1 a_2\nb b_1\n"
    p = run([UTILS / "combine_data.sh", "c", "s1", "s2"], tmp_path, check=False)
    assert "--overwrite" in p.stderr
    p = run([UTILS / "combine_data.sh", "c2", "s1", "s1"], tmp_path, check=False)
    assert "a_1" in p.stderr
    run([UTILS / "copy_data_dir.sh", "--utt-prefix", "x-", "--spk-prefix", "x-", "c", "cp"], tmp_path, check=True)
    assert (tmp_path / "cp/utt2spk").read_text() == "x-a_1 x-a\nx-a_2 x-a\nx-b_1 x-b\n"
    run([UTILS / "subset_data_dir.sh", "--first", "c", "2", "f"], tmp_path, check=True)
    assert (tmp_path / "f/wav.scp").read_text().split()[::2] == ["a_1", "a_2"]
    run([UTILS / "subset_data_dir.sh", "--last", "c", "1", "l"], tmp_path, check=True)
    assert (tmp_path / "l/spk2utt").read_text() == "b b_1\n"
    write(tmp_path / "list", "a_2\n")
    run([UTILS / "subset_data_dir.sh", "--utt-list", "list", "c", "u"], tmp_path, check=True)
    assert (tmp_path / "u/text").read_text().split()[0] == "a_2"
    p = run([UTILS / "subset_data_dir.sh", "c", "9", "r"], tmp_path, check=False)
    assert "only 3" in p.stderr
