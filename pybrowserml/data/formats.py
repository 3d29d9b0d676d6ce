"""Parsers (and an IDX writer) for the dataset file formats: IDX (gzip'ed or not) and npz.

Everything here works on bytes, so the same code serves files, URLs, IndexedDB records and files a
user picked in the page.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}


class DatasetFormatError(ValueError):
    """The bytes are not a valid file of the expected format."""


def _as_bytes(data) -> bytes | memoryview:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    raise TypeError(f"expected bytes-like data, got {type(data).__name__}")


def is_gzip(data) -> bool:
    return bytes(data[:2]) == GZIP_MAGIC


def gunzip_if_needed(data, what: str = "data"):
    """The decompressed bytes if `data` is gzip'ed, else `data` itself."""
    data = _as_bytes(data)
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetFormatError(
            f"{what} looks gzip'ed but does not decompress ({e}); the file is truncated or corrupt: download it again"
        ) from e


def is_idx(data) -> bool:
    head = bytes(data[:4])
    return len(head) == 4 and head[:2] == b"\x00\x00" and head[2] in IDX_DTYPES and head[3] > 0


def parse_idx(data, what: str = "IDX data") -> np.ndarray:
    """Parse an IDX file (the MNIST format), gzip'ed or not, into a native-endian writable array."""
    data = gunzip_if_needed(data, what)
    if len(data) < 4 or bytes(data[:2]) != b"\x00\x00":
        raise DatasetFormatError(
            f"{what} is not an IDX file: it must start with two zero bytes (got {bytes(data[:4]).hex() or 'nothing'})"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DatasetFormatError(
            f"{what}: unknown IDX type code 0x{code:02x}; expected one of {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}"
        )
    if ndim == 0:
        raise DatasetFormatError(f"{what}: IDX header says 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFormatError(f"{what}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetFormatError(
            f"{what}: IDX header promises shape {shape} ({expected} bytes of data) but "
            f"{len(data) - header} bytes follow; the file is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)  # native order, writable, owns its memory


def encode_idx(array, compress: bool = False) -> bytes:
    """Write `array` as an IDX file (gzip'ed if compress): the inverse of parse_idx."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise TypeError(f"IDX cannot hold dtype {array.dtype}; use uint8, int8, int16, int32, float32 or float64")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX holds arrays of 1 to 255 dimensions, got {array.ndim}")
    code = _IDX_CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    raw = header + body
    return gzip.compress(raw, mtime=0) if compress else raw


def parse_npz(data, what: str = "npz data", verified: bool = False) -> dict[str, np.ndarray]:
    """Parse an .npz (or .npy) file into {name: array}; never unpickles (allow_pickle=False).

    verified: the bytes' integrity is already known (the dataset cache checked their sha256), so an
    uncompressed npz is read as views of one copy of it, skipping zipfile's per-chunk reads and CRCs.
    """
    data = gunzip_if_needed(data, what)
    if verified:
        arrays = _stored_npz_views(data)
        if arrays is not None:
            return arrays
    try:
        loaded = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"arr_0": loaded}
        with loaded:  # an NpzFile reads each array lazily: read them all here, inside the try
            return {name: loaded[name] for name in loaded.files}
    except ValueError as e:
        raise DatasetFormatError(
            f"{what} is not a valid npz/npy file, or holds Python objects that would need unpickling (refused): {e}"
        ) from e
    except Exception as e:  # zipfile.BadZipFile, EOFError, ...
        raise DatasetFormatError(f"{what} is not a valid npz/npy file: {e}") from e


def _stored_npz_views(data) -> dict[str, np.ndarray] | None:
    """{name: array} of an uncompressed .npz (what encode_npz writes), as writable views of one copy of
    `data`; None when it is anything else (compressed members, object arrays, a .npy...), which np.load reads."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return None
    if not members or any(m.compress_type != zipfile.ZIP_STORED or not m.filename.endswith(".npy") for m in members):
        return None
    buffer = bytearray(data)  # one copy, so the arrays are writable like np.load's
    arrays = {}
    for member in members:
        local = bytes(buffer[member.header_offset : member.header_offset + 30])
        if len(local) < 30 or local[:4] != ZIP_MAGIC:
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        start = member.header_offset + 30 + name_length + extra_length
        end = start + member.file_size
        if end > len(buffer):
            return None
        header = io.BytesIO(bytes(buffer[start : min(end, start + 65536 + 16)]))
        try:
            version = np.lib.format.read_magic(header)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(header)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(header)
            else:
                return None
        except ValueError:
            return None
        count = int(np.prod(shape, dtype=np.int64))
        offset = start + header.tell()
        if dtype.hasobject or offset + count * dtype.itemsize != end:
            return None
        flat = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
        arrays[member.filename[: -len(".npy")]] = (
            flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)
        )
    return arrays


def encode_npz(arrays: dict) -> bytes:
    """Serialise {name: array} as an uncompressed .npz (fast to read back)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def detect_format(data) -> str:
    """'idx' or 'npz' from the content (after gunzip), or a DatasetFormatError saying what was seen."""
    data = gunzip_if_needed(data)
    head = bytes(data[:6])
    if head.startswith(ZIP_MAGIC) or head.startswith(b"\x93NUMPY"):
        return "npz"
    if is_idx(data):
        return "idx"
    raise DatasetFormatError(
        f"cannot tell the format of the data (first bytes {head.hex()}): "
        "expected an IDX file (MNIST format) or an .npz/.npy file, gzip'ed or not"
    )


def parse(data, format: str = "auto", what: str = "data"):
    """Parse by format: 'idx' -> ndarray, 'npz' -> {name: ndarray}, 'auto' -> by content."""
    formats = ("auto", "idx", "npz")
    if format not in formats:
        raise ValueError(f"unknown dataset format {format!r}; choose one of {', '.join(formats)}")
    data = gunzip_if_needed(_as_bytes(data), what)
    if format == "auto":
        format = detect_format(data)
    return parse_idx(data, what) if format == "idx" else parse_npz(data, what)
