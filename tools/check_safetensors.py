#!/usr/bin/env python3
"""Independent reader and writer of the safetensors format, to check bayun's C++ against it.

Debian has no `safetensors` package, so this parses the format by hand with struct + json + numpy, following
the specification (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes
of JSON header padded with spaces, then the raw little-endian data.

  /usr/bin/python3 tools/check_safetensors.py read FILE
      Checks FILE strictly (header padding, dtypes, offsets contiguous and matching shapes) and prints
      {"metadata": {...}, "tensors": {name: {"dtype", "shape", "data"}}} as JSON (values as float).
      Exits 1 with a message if the file breaks a rule. The C++ test [interop] runs this on a file it wrote.
  /usr/bin/python3 tools/check_safetensors.py write-golden [FILE]
      Writes tests/golden/tiny.safetensors (or FILE): F32, F16 and BF16 tensors, a rank-0 tensor, metadata,
      with the data stored in a different order than the names sort. tests/train/test_safetensors.cpp reads it.
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": (np.dtype("<f4"), 4), "F16": (np.dtype("<f2"), 2), "BF16": (np.dtype("<u2"), 2)}


def bf16_bits_to_float(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float_to_bf16_bits(values):
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    assert np.all(bits & 0xFFFF == 0), "golden BF16 values must be exactly representable"
    return (bits >> 16).astype(np.uint16)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"file is {len(blob)} bytes, shorter than the header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"header length {n} exceeds file size {len(blob)}")
    if n % 8 != 0:
        raise ValueError(f"header length {n} is not a multiple of 8")
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with '{'")
    header = json.loads(text)
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("metadata values must be strings")
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    position = 0
    tensors = {}
    for name, info in entries:
        dtype, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        if begin != position:
            raise ValueError(f"tensor {name} starts at {begin}, expected {position} (hole or overlap)")
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * size:
            raise ValueError(f"tensor {name}: offsets [{begin}, {end}] do not match shape {info['shape']}")
        values = np.frombuffer(data[begin:end], dtype=dtype)
        if info["dtype"] == "BF16":
            values = bf16_bits_to_float(values)
        tensors[name] = {"dtype": info["dtype"], "shape": info["shape"],
                         "data": [float(v) for v in values.astype(np.float64)]}
        position = end
    if position != len(data):
        raise ValueError(f"{len(data) - position} bytes after the last tensor")
    return {"metadata": metadata, "tensors": tensors}


def write(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, raw bytes), stored in list order."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def write_golden(path):
    wte = (np.arange(6, dtype=np.float32) * 0.5 - 1.0).reshape(3, 2)      # -1.0, -0.5, ..., 1.5
    ln_f_bias = np.array([0.5, -2.0, 65504.0, 2.0 ** -24], dtype="<f2")   # the largest half, the smallest subnormal
    lm_head = float_to_bf16_bits([1.0, -3.140625, 0.0078125, 256.0]).reshape(2, 2)
    scale = np.array(42.0, dtype="<f4")                                    # rank 0
    tensors = [  # stored in this order, which is not the order the names sort in
        ("lm_head.weight", "BF16", [2, 2], lm_head.astype("<u2").tobytes()),
        ("transformer.wte.weight", "F32", [3, 2], wte.astype("<f4").tobytes()),
        ("transformer.ln_f.bias", "F16", [4], ln_f_bias.tobytes()),
        ("scale", "F32", [], scale.tobytes()),
    ]
    write(path, tensors, {"format": "pt", "written_by": "tools/check_safetensors.py"})
    print(json.dumps(read(path)["tensors"]["transformer.ln_f.bias"]))
    print(f"wrote {path}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "read":
        try:
            print(json.dumps(read(argv[2])))
        except (ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
            print(f"check_safetensors: {argv[2]}: {e}", file=sys.stderr)
            return 1
        return 0
    if len(argv) >= 2 and argv[1] == "write-golden":
        default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "tiny.safetensors")
        write_golden(os.path.normpath(argv[2] if len(argv) >= 3 else default))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
