"""A tiny trained system and one demo-corpus utterance, for the perform / pack tests.

    tiny dump (tests/support/tiny_dump.py) + the full Mandarin token list + identity global_mvn stats
      --1 epoch of the shrunk train_performsinger.yaml--> exp/svs_performsinger
    demo corpus generator (data/demo_corpus.py), singer A, one utterance -> corpus/singerA/*.{wav,mp4,...}
"""

from pathlib import Path

import numpy as np

from espnet2_ext.data.phones import PHONES
from tests.support.configs import shrunk_config, train
from tests.support.tiny_dump import write_tiny_dump


def train_tiny_system(root: Path) -> Path:
    dump = write_tiny_dump(root / "dump")
    (dump / "tokens.txt").write_text("\n".join(["<blank>", "<unk>", *PHONES, "<sos/eos>"]) + "\n")
    stats = root / "exp" / "svs_stats_raw_phn" / "train" / "feats_stats.npz"
    stats.parent.mkdir(parents=True)
    np.savez(stats, count=np.array(100.0), sum=np.zeros(80), sum_square=np.full(80, 100.0))
    exp = root / "exp" / "svs_performsinger"
    train(shrunk_config("train_performsinger.yaml", root), dump, exp,
           ["--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}"])
    return exp


def demo_utterance(root: Path, index: int = 0, singer: int = 0):
    """Write one demo-corpus utterance of SINGERS[singer] (A by default; E, F and G are unseen by the
    demo's training set); returns (corpus dir, Utterance)."""
    from espnet2_ext.data.demo_corpus import SINGERS, plan_utterance, write_utterance

    voice, look = SINGERS[singer]
    rng = np.random.default_rng(np.random.SeedSequence([0, singer, index]))
    utt = plan_utterance(f"{voice.name}_{index:04d}", voice, rng)
    (root / voice.name).mkdir(parents=True, exist_ok=True)
    write_utterance(root / voice.name, utt, voice, look, 22050, rng)
    return root, utt


def lyrics_and_notes(utt):
    """The lyrics (with the inner rests, no outer SP) and the per-syllable MIDI of an Utterance."""
    words = [w for _, _, w in utt.words]
    words = words[1:-1]  # the outer SP: perform adds them
    by_syllable = {}
    for _, _, _, midi, k in utt.phones:
        if k >= 0:
            by_syllable[k] = midi
    return " ".join(words), [by_syllable[k] for k in sorted(by_syllable)]


def stage_1_to_3(corpus: Path, spk: str, utts, data: Path) -> Path:
    """Stages 1-3 of the recipe on ``utts`` of ``corpus/spk``, with the recipe's own stage-3 options
    (svs.sh: --crop_scale 0.65 --front_end auto, merged report): the data dir with spembs.scp,
    lip.scp (crops in data/lip) and lip_report.json, whose roi_conf stage 9 packs."""
    from espnet2_ext.bin import extract_dvector, extract_lip_roi, make_reference_sets, merge_lip_reports
    from espnet2_ext.data.visualsinger import load_utterance, write_data_dir

    write_data_dir([load_utterance(corpus, spk, u) for u in utts], data)
    extract_dvector.main(["--wav_scp", str(data / "wav.scp"), "--out_ark", str(data / "spembs.ark"),
                          "--out_scp", str(data / "spembs.scp")])
    extract_lip_roi.main(["--video_scp", str(data / "video.scp"), "--out_dir", str(data / "data" / "lip"),
                          "--out_scp", str(data / "lip.scp"), "--report", str(data / "report.1.json"),
                          "--crop_scale", "0.65", "--front_end", "auto"])
    merge_lip_reports.main(["--reports", str(data / "report.1.json"), "--out", str(data / "lip_report.json")])
    make_reference_sets.main(["--dump_dir", str(data), "--setting", "1"])  # each utterance its own reference
    return data
