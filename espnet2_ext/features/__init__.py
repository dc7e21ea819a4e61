"""Audio feature tools of recipe stage 2: wav formatting, F0, GE2E d-vectors."""
