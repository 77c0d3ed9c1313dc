"""The paper's datasets, read from their published files (or files placed by hand).

Each module fetches or finds one dataset's raw files, checks that they are what the paper
used, and converts them to the HDF5 layout of `infogan.data.hdf5`. They share no drawing
code with the stand-ins in `infogan.data.synthetic`, only the download and file format.
"""
