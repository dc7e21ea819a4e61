"""espnet2_ext: multimodal, duration-free singing voice synthesis (PerformSinger) for ESPnet."""

from setuptools import find_packages, setup

setup(
    name="espnet2_ext",
    version="0.1.0",
    description="PerformSinger: lip-video-driven, duration-free singing voice synthesis on ESPnet2",
    packages=find_packages(include=["espnet2_ext", "espnet2_ext.*"]),
    python_requires=">=3.11,<3.12",
    install_requires=[
        "espnet==202511",
        "torch==2.11.0",
        "torchaudio==2.11.0",
        "kaldiio",
        "pypinyin==0.44.0",
        "opencv-python-headless<5",
        "resemblyzer==0.1.4",
        "praatio",
        "praat-parselmouth",
        "imageio-ffmpeg",
    ],
)
