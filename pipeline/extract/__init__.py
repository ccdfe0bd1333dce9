"""Extraction: detect, align, crop, mask, measure and describe every face of a source."""
