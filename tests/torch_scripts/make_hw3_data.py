"""Tiny images in ImageFolder layout: class 0 a bright square, 1 a horizontal bar, 2 a vertical bar, each at a
random place and colour on a noisy background (train 40 per class, valid 15)."""
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.default_rng(0)
for split, n in (("train", 40), ("valid", 15)):
    for label, name in enumerate(("square", "hbar", "vbar")):
        folder = os.path.join(out, split, name)
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            img = rng.integers(0, 80, size=(20, 20, 3)).astype(np.uint8)
            r, c = rng.integers(2, 10, size=2)
            color = rng.integers(150, 256, size=3)
            if label == 0:
                img[r:r + 8, c:c + 8] = color
            elif label == 1:
                img[r + 3:r + 6, 1:19] = color
            else:
                img[1:19, c + 3:c + 6] = color
            Image.fromarray(img).save(os.path.join(folder, f"{i:03d}.png"))
