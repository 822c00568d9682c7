"""HW2-style frame classification (the ML 2022 sample code's structure): per-utterance features stored as .pt
files, neighbouring frames concatenated with concat_feat (Tensor.repeat), an MLP of BasicBlocks.

Usage: hw2_frames.py DATA_DIR OUT_DIR  (DATA_DIR holds feat/<id>.pt and labels.txt, written by real torch).
"""
import gc
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset, DataLoader
from tqdm import tqdm


def load_feat(path):
    feat = torch.load(path)
    return feat


def shift(x, n):
    if n < 0:
        left = x[0].repeat(-n, 1)
        right = x[:n]
    elif n > 0:
        right = x[-1].repeat(n, 1)
        left = x[n:]
    else:
        return x
    return torch.cat((left, right), dim=0)


def concat_feat(x, concat_n):
    assert concat_n % 2 == 1  # n must be odd
    if concat_n < 2:
        return x
    seq_len, feature_dim = x.size(0), x.size(1)
    x = x.repeat(1, concat_n)
    x = x.view(seq_len, concat_n, feature_dim).permute(1, 0, 2)  # concat_n, seq_len, feature_dim
    mid = (concat_n // 2)
    for r_idx in range(1, mid + 1):
        x[mid + r_idx, :] = shift(x[mid + r_idx], r_idx)
        x[mid - r_idx, :] = shift(x[mid - r_idx], -r_idx)
    return x.permute(1, 0, 2).view(seq_len, concat_n * feature_dim)


def preprocess_data(split, feat_dir, label_path, concat_nframes, ids):
    label_dict = {}
    for line in open(label_path).readlines():
        line = line.strip('\n').split(' ')
        label_dict[line[0]] = [int(p) for p in line[1:]]
    max_len = 3000
    X = torch.empty(max_len, 8 * concat_nframes)
    y = torch.empty(max_len, dtype=torch.long)
    idx = 0
    for i, fname in tqdm(enumerate(ids), disable=True):
        feat = load_feat(os.path.join(feat_dir, f'{fname}.pt'))
        cur_len = len(feat)
        feat = concat_feat(feat, concat_nframes)
        label = torch.LongTensor(label_dict[fname])
        X[idx: idx + cur_len, :] = feat
        y[idx: idx + cur_len] = label
        idx += cur_len
    X = X[:idx, :]
    y = y[:idx]
    print(f'[INFO] {split} set')
    print(X.shape, y.shape)
    return X, y


class LibriDataset(Dataset):
    def __init__(self, X, y=None):
        self.data = X
        if y is not None:
            self.label = torch.LongTensor(y)
        else:
            self.label = None

    def __getitem__(self, idx):
        if self.label is not None:
            return self.data[idx], self.label[idx]
        else:
            return self.data[idx]

    def __len__(self):
        return len(self.data)


class BasicBlock(nn.Module):
    def __init__(self, input_dim, output_dim):
        super(BasicBlock, self).__init__()
        self.block = nn.Sequential(nn.Linear(input_dim, output_dim), nn.ReLU())

    def forward(self, x):
        return self.block(x)


class Classifier(nn.Module):
    def __init__(self, input_dim, output_dim=5, hidden_layers=1, hidden_dim=64):
        super(Classifier, self).__init__()
        self.fc = nn.Sequential(
            BasicBlock(input_dim, hidden_dim),
            *[BasicBlock(hidden_dim, hidden_dim) for _ in range(hidden_layers)],
            nn.Linear(hidden_dim, output_dim)
        )

    def forward(self, x):
        return self.fc(x)


def same_seeds(seed):
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
    np.random.seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


if __name__ == '__main__':
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    concat_nframes = 3
    train_ratio = 0.75
    seed = 0
    batch_size = 64
    num_epoch = 8
    learning_rate = 2e-3
    model_path = os.path.join(out_dir, 'model.ckpt')
    input_dim = 8 * concat_nframes
    hidden_layers, hidden_dim = 1, 64
    device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    print(f'DEVICE: {device}')
    ids = sorted(f[:-3] for f in os.listdir(os.path.join(data_dir, 'feat')))
    cut = int(len(ids) * train_ratio)
    train_X, train_y = preprocess_data('train', os.path.join(data_dir, 'feat'), os.path.join(data_dir, 'labels.txt'),
                                       concat_nframes, ids[:cut])
    val_X, val_y = preprocess_data('val', os.path.join(data_dir, 'feat'), os.path.join(data_dir, 'labels.txt'),
                                   concat_nframes, ids[cut:])
    train_set = LibriDataset(train_X, train_y)
    val_set = LibriDataset(val_X, val_y)
    del train_X, train_y, val_X, val_y
    gc.collect()
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=batch_size, shuffle=False)
    same_seeds(seed)
    model = Classifier(input_dim=input_dim, hidden_layers=hidden_layers, hidden_dim=hidden_dim).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    best_acc = 0.0
    for epoch in range(num_epoch):
        train_acc = train_loss = val_acc = val_loss = 0.0
        model.train()
        for i, batch in enumerate(tqdm(train_loader, disable=True)):
            features, labels = batch
            features = features.to(device)
            labels = labels.to(device)
            optimizer.zero_grad()
            outputs = model(features)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            _, train_pred = torch.max(outputs, 1)
            train_acc += (train_pred.detach() == labels.detach()).sum().item()
            train_loss += loss.item()
        model.eval()
        with torch.no_grad():
            for i, batch in enumerate(tqdm(val_loader, disable=True)):
                features, labels = batch
                features = features.to(device)
                labels = labels.to(device)
                outputs = model(features)
                loss = criterion(outputs, labels)
                _, val_pred = torch.max(outputs, 1)
                val_acc += (val_pred.cpu() == labels.cpu()).sum().item()
                val_loss += loss.item()
        print(f'[{epoch+1:03d}/{num_epoch:03d}] Train Acc: {train_acc/len(train_set):3.5f} '
              f'Loss: {train_loss/len(train_loader):3.5f} | Val Acc: {val_acc/len(val_set):3.5f} '
              f'loss: {val_loss/len(val_loader):3.5f}')
        if val_acc > best_acc:
            best_acc = val_acc
            torch.save(model.state_dict(), model_path)
    torch.save({'metric': 'valid_acc', 'value': best_acc / len(val_set), 'final_val_loss': val_loss / len(val_loader)},
               os.path.join(out_dir, 'result.pt'))
