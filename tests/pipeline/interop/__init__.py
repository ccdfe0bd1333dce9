"""Tests of faceswap and DeepFaceLab import and export, and of the restricted unpickler."""
