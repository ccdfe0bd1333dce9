"""Imported by the forkserver of tests/forked_worker.py: the model files every extraction
and training run reads, parsed once there and inherited by each forked worker."""
from pipeline.extract.dlib_backend import shape_predictor

shape_predictor()
