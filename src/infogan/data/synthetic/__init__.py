"""Offline stand-ins for the paper's datasets, drawn by our own code with known factors.

Each stand-in module says only what it draws: its factors, its renderer, its description and
its default sizes. `standin` owns what they all do alike (a seeded stream per split, drawing
in batches under a progress bar, the Split, the HDF5 file), so that a rule such as "the test
split does not depend on the train split's size" holds for all five in one place. `render3d`
is the rasterizer of the two 3D stand-ins (and of the real 3D Faces' Basel route).
"""
