"""Masks beyond the landmark hulls: face parsing (BiSeNet) and the trainable occlusion mask
(XSeg-style) with the jobs that compute them."""
