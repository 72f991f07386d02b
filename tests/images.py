"""Synthetic images for tests: a textured square moving over a textured background."""

import cv2
import numpy as np

HEIGHT, WIDTH = 96, 128
SQUARE = (slice(30, 60), slice(40, 70))   # rows, cols of the moving square in frame 0
SHIFT = (5, 3)                             # its motion (du, dv) in pixels


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def moving_square_pair(seed=0):
    """A static textured background and a differently textured square moving by SHIFT."""
    rng = np.random.default_rng(seed)

    def texture(height, width):  # smooth, full-contrast noise that DIS can follow
        blurred = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 2.0)
        return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)

    background, square = texture(HEIGHT, WIDTH), texture(30, 30)
    frames = np.stack([background, background])
    frames[0][SQUARE] = square
    du, dv = SHIFT
    frames[1][SQUARE[0].start + dv:SQUARE[0].stop + dv, SQUARE[1].start + du:SQUARE[1].stop + du] = square
    truth = np.zeros((HEIGHT, WIDTH), dtype=bool)
    truth[SQUARE] = True
    return frames, truth
