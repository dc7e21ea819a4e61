"""espnet2_ext: PerformSinger, multimodal duration-free singing voice synthesis on ESPnet2."""
