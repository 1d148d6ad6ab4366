#!/usr/bin/env python3
"""Draws the sample images of examples/images/: one handwritten-style digit per class, 0 to 9, as 28x28 grey PNGs.

    python3 examples/images/make_digits.py            # rewrites examples/images/digit-<d>.png

They are drawn here (no data set, no licence question): each digit is a few strokes (lines and elliptic arcs) in a unit
box, rendered white on black with 8x8 supersampling into a 20x20 box and placed in the 28x28 frame by its centre of
mass, as MNIST's digits were, so that the demo models of models/demo/ (trained on MNIST) see the input they expect.
Standard library only (zlib, struct); deterministic: the same bytes on every run.
"""

import math
import os
import struct
import zlib

BOX = 20  # MNIST: the digit's bounding box is 20x20 ...
FRAME = 28  # ... inside a 28x28 frame, centred by centre of mass
SUPERSAMPLE = 8
HALF_WIDTH = 0.07  # stroke half-width in units of the box (about 1.4 px: MNIST strokes are 2 to 3 px wide)


def arc(cx, cy, rx, ry, start_deg, end_deg, pieces=48):
    """An elliptic arc as a polyline; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    pts = []
    for k in range(pieces + 1):
        t = math.radians(start_deg + (end_deg - start_deg) * k / pieces)
        pts.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
    return pts


# Each digit: polylines of (x, y) in [0, 1]^2, y down.
DIGITS = {
    0: [arc(0.5, 0.5, 0.3, 0.45, 0, 360)],
    1: [[(0.38, 0.22), (0.56, 0.05), (0.56, 0.95)]],
    2: [arc(0.5, 0.3, 0.28, 0.25, 180, 395) + [(0.18, 0.95), (0.84, 0.95)]],
    3: [arc(0.48, 0.27, 0.25, 0.22, -150, 90), arc(0.48, 0.72, 0.28, 0.23, -90, 150)],
    4: [[(0.66, 0.95), (0.66, 0.05), (0.14, 0.66), (0.88, 0.66)]],
    5: [[(0.8, 0.05), (0.32, 0.05), (0.28, 0.46)] + arc(0.5, 0.68, 0.28, 0.27, -125, 150)],
    6: [[(0.7, 0.05), (0.4, 0.3), (0.26, 0.62)], arc(0.5, 0.7, 0.24, 0.24, 0, 360)],
    7: [[(0.14, 0.05), (0.86, 0.05), (0.42, 0.95)]],
    8: [arc(0.5, 0.26, 0.2, 0.2, 0, 360), arc(0.5, 0.72, 0.26, 0.23, 0, 360)],
    9: [arc(0.5, 0.3, 0.24, 0.24, 0, 360), [(0.74, 0.3), (0.66, 0.95)]],
}


def distance_to_segment(px, py, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def render_box(strokes):
    """Coverage in [0, 1] of a BOX x BOX grid: the share of each pixel's subsamples within HALF_WIDTH of a stroke."""
    segments = [(p[i], p[i + 1]) for p in strokes for i in range(len(p) - 1)]
    # The strokes' own bounding box is scaled to fill the box (keeping the aspect ratio), as MNIST's normalisation did.
    xs = [x for p in strokes for x, _ in p]
    ys = [y for p in strokes for _, y in p]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) + 2 * HALF_WIDTH
    ox = (min(xs) + max(xs)) / 2 - span / 2
    oy = (min(ys) + max(ys)) / 2 - span / 2
    grid = [[0.0] * BOX for _ in range(BOX)]
    n = SUPERSAMPLE
    for i in range(BOX):
        for j in range(BOX):
            hit = 0
            for si in range(n):
                for sj in range(n):
                    x = ox + span * (j + (sj + 0.5) / n) / BOX
                    y = oy + span * (i + (si + 0.5) / n) / BOX
                    if any(distance_to_segment(x, y, a, b) <= HALF_WIDTH * span for a, b in segments):
                        hit += 1
            grid[i][j] = hit / (n * n)
    return grid


def place_by_mass(box):
    """The BOX grid in a FRAME grid, shifted so its centre of mass is the frame's centre (rounded to whole pixels)."""
    total = sum(sum(row) for row in box)
    ci = sum(i * v for i, row in enumerate(box) for v in row) / total
    cj = sum(j * v for row in box for j, v in enumerate(row)) / total
    di = int(round(FRAME / 2 - 0.5 - ci))
    dj = int(round(FRAME / 2 - 0.5 - cj))
    frame = [[0.0] * FRAME for _ in range(FRAME)]
    for i, row in enumerate(box):
        for j, v in enumerate(row):
            if 0 <= i + di < FRAME and 0 <= j + dj < FRAME:
                frame[i + di][j + dj] = v
    return frame


def png_grey(rows):
    """An 8-bit greyscale PNG of rows of values in [0, 1]."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(int(round(255 * max(0.0, min(1.0, v)))) for v in row) for row in rows)
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for digit, strokes in DIGITS.items():
        path = os.path.join(here, "digit-%d.png" % digit)
        with open(path, "wb") as f:
            f.write(png_grey(place_by_mass(render_box(strokes))))
        print(path)


if __name__ == "__main__":
    main()
