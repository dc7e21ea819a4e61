"""Stage 2: F0 (Hz, 0 = unvoiced) of every wav of one scp -> kaldi ark, (1 + N // hop, 1) float32.

    python -m espnet2_ext.bin.extract_f0 --wav_scp dump/raw/train/wav.scp --fs 22050 --hop_length 256 \
        --out_ark dump/raw/train/pitch.ark --out_scp dump/raw/train/pitch.scp [--f0_min 60 --f0_max 1000]
"""

from espnet2_ext.features.ark_job import ark_job_parser, run_ark_job
from espnet2_ext.features.f0 import DEFAULT_F0_CONF, extract_f0
from espnet2_ext.features.format_wav import load_mono


def main(argv=None) -> None:
    p = ark_job_parser(__doc__)
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--hop_length", type=int, default=256)
    p.add_argument("--f0_min", type=float, default=DEFAULT_F0_CONF["f0_min"])
    p.add_argument("--f0_max", type=float, default=DEFAULT_F0_CONF["f0_max"])
    a = p.parse_args(argv)
    run_ark_job(a, lambda utt, path: extract_f0(load_mono(path, a.fs, utt), a.fs, a.hop_length, a.f0_min, a.f0_max),
                "F0")


if __name__ == "__main__":
    main()
