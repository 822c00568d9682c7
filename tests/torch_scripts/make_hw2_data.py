"""Writes HW2-style data with real torch: feat/<id>.pt (frames x 8 features) and labels.txt ("id l1 l2 ...").
The label of a frame depends on it and its two neighbours, so concatenating frames helps."""
import os
import sys

import numpy as np
import torch

out = sys.argv[1]
os.makedirs(os.path.join(out, 'feat'), exist_ok=True)
rng = np.random.default_rng(0)
w = rng.normal(size=(3 * 8, 5))
lines = []
for u in range(24):
    frames = int(rng.integers(40, 80))
    x = rng.normal(size=(frames, 8)).astype(np.float32)
    padded = np.concatenate([x[:1], x, x[-1:]])
    context = np.concatenate([padded[:-2], padded[1:-1], padded[2:]], axis=1)
    labels = (context @ w + 0.3 * rng.normal(size=(frames, 5))).argmax(1)
    torch.save(torch.from_numpy(x), os.path.join(out, 'feat', f'utt{u:03d}.pt'))
    lines.append(f'utt{u:03d} ' + ' '.join(str(int(v)) for v in labels))
with open(os.path.join(out, 'labels.txt'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
