"""Stage 2: GE2E d-vector (256,) float32 of every wav of one scp -> kaldi ark (resemblyzer, CPU).

    python -m espnet2_ext.bin.extract_dvector --wav_scp dump/raw/train/wav.scp \
        --out_ark dump/raw/train/spembs.ark --out_scp dump/raw/train/spembs.scp
"""

import soundfile as sf

from espnet2_ext.features.ark_job import ark_job_parser, run_ark_job


def main(argv=None) -> None:
    a = ark_job_parser(__doc__).parse_args(argv)
    from espnet2_ext.features.dvector import dvector

    def one(utt: str, path: str):
        try:
            wav, fs = sf.read(path, dtype="float32", always_2d=True)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"{path}: unreadable or corrupt audio ({e})") from e
        return dvector(wav.mean(axis=1), fs, utt)

    run_ark_job(a, one, "d-vectors")


if __name__ == "__main__":
    main()
