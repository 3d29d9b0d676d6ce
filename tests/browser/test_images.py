"""Image decoding in the browser: the page's own decoder (createImageBitmap) and a canvas of the target
size do the resizing; Python receives uint8 (H, W, C) pixels.

The test images are made in the page with canvas.toBlob, so they are real PNG/JPEG files: a 56x56
picture of four flat 28x28 quadrants (red, green / blue, white). Resized to 28x28 every quadrant is
14x14 and its interior keeps the exact colour (smoothing only mixes pixels along the borders).
"""

import pytest

from harness import PyodideError

# Creates globalThis.testImages = {png, jpeg}: the same four-quadrant picture in both formats.
JS_MAKE_IMAGES = """async () => {
  const canvas = new OffscreenCanvas(56, 56);
  const ctx = canvas.getContext("2d");
  const fill = (colour, x, y) => { ctx.fillStyle = colour; ctx.fillRect(x, y, 28, 28); };
  fill("rgb(255,0,0)", 0, 0); fill("rgb(0,255,0)", 28, 0);
  fill("rgb(0,0,255)", 0, 28); fill("rgb(255,255,255)", 28, 28);
  globalThis.testImages = {
    png: await canvas.convertToBlob({ type: "image/png" }),
    jpeg: await canvas.convertToBlob({ type: "image/jpeg", quality: 0.95 }),
  };
  return [globalThis.testImages.png.type, globalThis.testImages.jpeg.type];
}"""

# Interior pixels of each quadrant after resizing to 28x28 (row, col) and their expected colours.
QUADRANTS = {(3, 3): (255, 0, 0), (3, 24): (0, 255, 0), (24, 3): (0, 0, 255), (24, 24): (255, 255, 255)}
LUMA = {(255, 0, 0): 76, (0, 255, 0): 150, (0, 0, 255): 29, (255, 255, 255): 255}  # BT.601, rounded


@pytest.fixture
def page_with_images(pyodide_page):
    assert pyodide_page.js(JS_MAKE_IMAGES) == ["image/png", "image/jpeg"]
    pyodide_page.run("import js, numpy as np\nfrom pybrowserml.data import decode_image, load_images")
    return pyodide_page


def quadrant_pixels(image):
    return {f"{r},{c}": image[r][c] for (r, c) in QUADRANTS}


def test_png_is_decoded_and_resized_on_a_canvas(page_with_images):
    rgb, gray = page_with_images.run("""
png = js.testImages.png
rgb = await decode_image(png, size=(28, 28), grayscale=False)
gray = await decode_image(png)          # defaults: (28, 28), grayscale
assert rgb.dtype == np.uint8 and gray.dtype == np.uint8, (rgb.dtype, gray.dtype)
[[list(rgb.shape), rgb.tolist()], [list(gray.shape), gray[..., 0].tolist()]]
""")
    assert rgb[0] == [28, 28, 3] and gray[0] == [28, 28, 1]
    assert quadrant_pixels(rgb[1]) == {f"{r},{c}": list(colour) for (r, c), colour in QUADRANTS.items()}
    assert quadrant_pixels(gray[1]) == {f"{r},{c}": LUMA[colour] for (r, c), colour in QUADRANTS.items()}
    # Every pixel of a quadrant's interior, not just one, has the quadrant's colour.
    top_left = [row[1:13] for row in gray[1][1:13]]
    assert {v for row in top_left for v in row} == {76}


def test_size_none_keeps_the_image_size_and_bytes_decode_too(page_with_images):
    shape, corner, same = page_with_images.run("""
data = (await js.testImages.png.arrayBuffer()).to_bytes()     # the PNG file's bytes, as a user could have
full = await decode_image(data, size=None, grayscale=False)
from_blob = await decode_image(js.testImages.png, size=None, grayscale=False)
[list(full.shape), full[50, 50].tolist(), bool((full == from_blob).all())]
""")
    assert shape == [56, 56, 3] and corner == [255, 255, 255] and same is True


def test_jpeg_decodes_close_to_the_original_colours(page_with_images):
    pixels = page_with_images.run("""
jpeg = await decode_image(js.testImages.jpeg, size=(28, 28), grayscale=False)
[jpeg[r, c].tolist() for r, c in [(3, 3), (3, 24), (24, 3), (24, 24)]]
""")
    for got, expected in zip(pixels, QUADRANTS.values()):
        # JPEG is lossy (and subsamples colour), but a flat area's interior stays within a few levels.
        assert all(abs(g - e) <= 10 for g, e in zip(got, expected)), (got, expected)


def test_load_images_stacks_several_files_into_a_batch(page_with_images):
    shape, dtype, first_equals_second = page_with_images.run("""
batch = await load_images([js.testImages.png, js.testImages.jpeg], size=(14, 20))
[list(batch.shape), batch.dtype.name, bool(np.abs(batch[0].astype(int) - batch[1].astype(int)).max() <= 12)]
""")
    assert shape == [2, 14, 20, 1] and dtype == "uint8" and first_equals_second is True


def test_bytes_that_are_no_image_raise_a_clear_error(page_with_images):
    with pytest.raises(PyodideError, match="could not decode .* as an image"):
        page_with_images.run("await decode_image(b'this is not a PNG file')")
    with pytest.raises(PyodideError, match=r"size must be \(height, width\)"):
        page_with_images.run("await decode_image(js.testImages.png, size=28)")


def test_a_file_list_from_a_file_input_loads_as_a_batch(page_with_images):
    """What <input type=file multiple> hands over: a FileList of File objects (built with DataTransfer)."""
    shape, same_as_blob = page_with_images.run("""
from pyodide.code import run_js
files = run_js('''(() => {
  const list = new DataTransfer();
  list.items.add(new File([testImages.png], "card.png", { type: "image/png" }));
  list.items.add(new File([testImages.png], "again.png", { type: "image/png" }));
  return list.files;
})()''')
batch = await load_images(files, size=(28, 28))
single = await decode_image(js.testImages.png)
[list(batch.shape), bool((batch[0] == single).all() and (batch[1] == single).all())]
""")
    assert shape == [2, 28, 28, 1] and same_as_blob is True
