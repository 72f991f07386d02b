"""Mask post-processing on constructed masks: exact pixel counts, order of steps, empty masks."""

import logging

import numpy as np
import pytest
from pydantic import ValidationError

from avdc_core import InputDataError
from avdc_core.masks import MaskPostprocess, erode, largest_component, postprocess_mask


def rectangle(height=60, width=80, top=10, left=20, rows=20, cols=30):
    pixels = np.zeros((height, width), dtype=bool)
    pixels[top:top + rows, left:left + cols] = True
    return pixels


def test_erosion_shrinks_a_rectangle_by_the_radius_on_every_side():
    for radius in (1, 2, 3):
        eroded = erode(rectangle(), radius)
        assert eroded.sum() == (20 - 2 * radius) * (30 - 2 * radius)
        rows, cols = np.nonzero(eroded)
        assert (rows.min(), rows.max()) == (10 + radius, 29 - radius)
        assert (cols.min(), cols.max()) == (20 + radius, 49 - radius)


def test_erosion_removes_exactly_the_pixels_near_a_disk_border():
    v, u = np.mgrid[:61, :61]
    distance = np.hypot(u - 30, v - 30)
    disk = distance <= 20
    eroded = erode(disk, 3)
    # A discrete disk of radius 3: kept pixels lie ≥ 2.5 px inside the border, and every
    # pixel ≥ 3.5 px inside is kept.
    assert distance[eroded].max() <= 17.5
    assert eroded[distance <= 16.5].all()
    assert np.pi * 16.5**2 < eroded.sum() < np.pi * 17.5**2


def test_the_image_border_does_not_erode_the_mask():
    pixels = np.zeros((40, 50), dtype=bool)
    pixels[:10, :] = True  # a band touching the top, left and right image borders
    eroded = erode(pixels, 2)
    assert eroded.sum() == 8 * 50  # only the inner (bottom) edge loses 2 rows


def test_largest_component_keeps_the_biggest_blob_with_its_exact_pixels():
    pixels = rectangle()                                  # 600 px
    pixels[40:45, 5:10] = True                            # 25 px speck
    pixels[50:58, 60:70] = True                           # 80 px distractor
    kept = largest_component(pixels)
    np.testing.assert_array_equal(kept, rectangle())
    assert kept.sum() == 600


def test_diagonal_neighbours_are_one_component():
    pixels = np.zeros((10, 10), dtype=bool)
    pixels[[1, 2, 3, 4], [1, 2, 3, 4]] = True             # a diagonal line, 8-connected
    pixels[8, 8] = True
    assert largest_component(pixels).sum() == 4


def test_erosion_runs_before_the_component_choice_and_cuts_thin_bridges():
    pixels = rectangle(rows=20, cols=20, left=5)          # 400 px square
    pixels[40:52, 35:65] = True                           # 360 px bar
    steps = np.arange(10)
    pixels[30 + steps, 25 + steps] = True                 # a 1 px diagonal bridge joins them
    assert largest_component(pixels).sum() == pixels.sum()  # one blob before erosion
    mask = postprocess_mask(pixels, MaskPostprocess(largest_component=True, erode_px=1),
                            segmenter="segmenter/test", target="cube")
    assert mask.count == 18 * 18                          # the square, eroded; not the 280 px bar
    assert mask.source == "segmenter/test"


def test_default_settings_leave_the_mask_unchanged_and_report_the_count(caplog):
    pixels = rectangle()
    pixels[0, 0] = True
    with caplog.at_level(logging.INFO, logger="avdc_core.masks"):
        mask = postprocess_mask(pixels.astype(np.uint8) * 255, MaskPostprocess(),
                                segmenter="segmenter/test", target="cube")
    np.testing.assert_array_equal(mask.pixels, pixels)
    assert mask.count == 601
    assert "601 px raw, 601 px after" in caplog.text


def test_empty_after_postprocessing_names_segmenter_target_and_counts():
    pixels = rectangle(rows=3, cols=3)
    with pytest.raises(InputDataError) as caught:
        postprocess_mask(pixels, MaskPostprocess(erode_px=2), segmenter="segmenter/sam",
                         target="door handle")
    message = str(caught.value)
    assert "segmenter/sam" in message and "'door handle'" in message
    assert "9 px before, 0 after" in message and "erode_px" in message


def test_an_empty_raw_mask_is_an_error_too():
    with pytest.raises(InputDataError, match=r"0 px before, 0 after"):
        postprocess_mask(np.zeros((5, 5), bool), MaskPostprocess(), segmenter="s", target="t")


def test_settings_reject_negative_erosion_and_unknown_keys():
    with pytest.raises(ValidationError):
        MaskPostprocess(erode_px=-1)
    with pytest.raises(ValidationError):
        MaskPostprocess.model_validate({"erode": 2})
