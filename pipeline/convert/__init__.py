"""Conversion: swap faces in a video with a trained model and write the marked result."""
