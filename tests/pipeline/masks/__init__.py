"""Tests of the masks beyond the landmark hulls: face parsing and the occlusion mask."""
