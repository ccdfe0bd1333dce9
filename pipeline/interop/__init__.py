"""Facesets and alignments in faceswap's and DeepFaceLab's formats: read (import) and write
(export). Everything read here is untrusted input: pickles go through `safe_pickle` only."""
