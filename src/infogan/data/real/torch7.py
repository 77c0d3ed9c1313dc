"""Torch7 serialization (torch.save in binary mode), read with our own code.

Every value starts with a little-endian int32 type tag. Numbers are float64; strings an
int32 length then bytes; booleans an int32. Tables and torch objects carry an int32
reference number: the first occurrence is written out in full, later ones are references
to it (so objects are shared). A table is an int32 count of key/value pairs, each an
object. A torch object is a version string ("V 1"; absent in very old files), its class
name, then its own payload: a Storage an int64 element count and the raw elements; a
Tensor an int32 number of dimensions, int64 sizes, int64 strides (in elements), an int64
1-based storage offset, then its Storage as an object (nil for an empty tensor).

Used for DC-IGN's face renders (infogan.data.real.faces_dcign), which were saved by Torch7.
"""

import re
import struct

import numpy as np

from infogan.errors import DatasetFileError

TYPE_NIL, TYPE_NUMBER, TYPE_STRING, TYPE_TABLE, TYPE_TORCH, TYPE_BOOLEAN = 0, 1, 2, 3, 4, 5
TORCH_ELEMENT_TYPES = {
    "Byte": np.dtype("u1"),
    "Char": np.dtype("i1"),
    "Short": np.dtype("<i2"),
    "Int": np.dtype("<i4"),
    "Long": np.dtype("<i8"),
    "Float": np.dtype("<f4"),
    "Double": np.dtype("<f8"),
    "Cuda": np.dtype("<f4"),  # cutorch writes CudaTensors as float32 data
}


class Torch7FormatError(DatasetFileError):
    """A file is not in (the supported part of) Torch7's binary serialization format."""


class _Torch7Reader:
    """Reads one serialized object from bytes; tensors and storages become numpy arrays."""

    def __init__(self, data: bytes, long_size: int = 8):
        self.data = memoryview(data)
        self.pos = 0
        self.long_format = {8: "<q", 4: "<i"}[long_size]
        self.long_size = long_size
        self.objects = {}

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise Torch7FormatError(f"truncated: needs {n} bytes at byte {self.pos}, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def long(self) -> int:
        return struct.unpack(self.long_format, self.take(self.long_size))[0]

    def longs(self, n: int) -> list[int]:
        return [self.long() for _ in range(n)]

    def string(self) -> str:
        return bytes(self.take(self.int32())).decode("utf-8", errors="replace")

    def read_object(self):
        tag_at = self.pos
        tag = self.int32()
        if tag == TYPE_NIL:
            return None
        if tag == TYPE_NUMBER:
            return struct.unpack("<d", self.take(8))[0]
        if tag == TYPE_STRING:
            return self.string()
        if tag == TYPE_BOOLEAN:
            return self.int32() == 1
        if tag in (TYPE_TABLE, TYPE_TORCH):
            index = self.int32()
            if index in self.objects:
                return self.objects[index]
            return self.read_table(index) if tag == TYPE_TABLE else self.read_torch(index)
        raise Torch7FormatError(f"unsupported type tag {tag} at byte {tag_at} (functions and ascii files are not read)")

    def read_table(self, index):
        table = self.objects[index] = {}
        for _ in range(self.int32()):
            key = self.read_object()
            if isinstance(key, float) and key.is_integer():
                key = int(key)
            table[key] = self.read_object()
        return table

    def read_torch(self, index):
        version = self.string()
        class_name = self.string() if version.startswith("V ") else version
        match = re.fullmatch(r"torch\.(\w+?)(Storage|Tensor)", class_name)
        if match is None or match[1] not in TORCH_ELEMENT_TYPES:
            raise Torch7FormatError(f"unsupported class {class_name!r} at byte {self.pos}")
        dtype = TORCH_ELEMENT_TYPES[match[1]]
        if match[2] == "Storage":
            size = self.long()
            result = np.frombuffer(self.take(size * dtype.itemsize), dtype=dtype)
        else:
            result = self.read_tensor(dtype, class_name)
        self.objects[index] = result
        return result

    def read_tensor(self, dtype, class_name):
        ndim = self.int32()
        sizes, strides = self.longs(ndim), self.longs(ndim)
        offset = self.long() - 1
        storage = self.read_object()
        if ndim == 0 or storage is None:
            return np.zeros((0,), dtype=dtype)
        if not isinstance(storage, np.ndarray) or storage.dtype != dtype:
            raise Torch7FormatError(f"{class_name} at byte {self.pos} has a storage of another type")
        last = offset + sum((size - 1) * stride for size, stride in zip(sizes, strides))
        if offset < 0 or min(sizes) < 0 or min(strides) < 0 or (min(sizes) > 0 and last >= len(storage)):
            raise Torch7FormatError(
                f"{class_name} of size {sizes}, strides {strides}, offset {offset + 1} overruns its storage of {len(storage)}"
            )
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=sizes, strides=[stride * dtype.itemsize for stride in strides], writeable=False
        )
        return np.array(view)


def read_torch7(data: bytes, *, name="<bytes>", long_size: int = 8):
    """Read one object written by Torch7's `torch.save` (binary): tensors become numpy arrays,
    tables dicts, numbers floats. Raises Torch7FormatError naming `name` on anything else."""
    reader = _Torch7Reader(data, long_size)
    try:
        return reader.read_object()
    except Torch7FormatError as exc:
        raise Torch7FormatError(f"{name}: not a Torch7 file we can read ({exc})") from exc
