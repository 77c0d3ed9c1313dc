"""Offline stand-ins for the paper's datasets, drawn by our own code with known factors.

Each module draws one stand-in, with its factors stored beside its images; `render3d` is the
rasterizer of the two 3D stand-ins (and of the real 3D Faces' Basel route).
"""
