"""HW1-style regression (the ML 2022 sample code's structure) on generated COVID-like data.

Runs unmodified under PyTorch (`python hw1_covid.py OUT`) and relulab (`relulab run-torch hw1_covid.py OUT`).
"""
import csv
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset, DataLoader, random_split
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm


def same_seed(seed):
    '''Fixes random number generator seeds for reproducibility.'''
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def train_valid_split(data_set, valid_ratio, seed):
    '''Split provided training data into training set and validation set'''
    valid_set_size = int(valid_ratio * len(data_set))
    train_set_size = len(data_set) - valid_set_size
    train_set, valid_set = random_split(data_set, [train_set_size, valid_set_size],
                                        generator=torch.Generator().manual_seed(seed))
    return np.array(train_set), np.array(valid_set)


def predict(test_loader, model, device):
    model.eval()
    preds = []
    for x in tqdm(test_loader, disable=True):
        x = x.to(device)
        with torch.no_grad():
            pred = model(x)
            preds.append(pred.detach().cpu())
    preds = torch.cat(preds, dim=0).numpy()
    return preds


class COVID19Dataset(Dataset):
    '''x: Features. y: Targets, if none, do prediction.'''

    def __init__(self, x, y=None):
        if y is None:
            self.y = y
        else:
            self.y = torch.FloatTensor(y)
        self.x = torch.FloatTensor(x)

    def __getitem__(self, idx):
        if self.y is None:
            return self.x[idx]
        else:
            return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.x)


class My_Model(nn.Module):
    def __init__(self, input_dim):
        super(My_Model, self).__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_dim, 16),
            nn.ReLU(),
            nn.Linear(16, 8),
            nn.ReLU(),
            nn.Linear(8, 1)
        )

    def forward(self, x):
        x = self.layers(x)
        x = x.squeeze(1)  # (B, 1) -> (B)
        return x


def select_feat(train_data, valid_data, test_data, select_all=True):
    y_train, y_valid = train_data[:, -1], valid_data[:, -1]
    raw_x_train, raw_x_valid, raw_x_test = train_data[:, :-1], valid_data[:, :-1], test_data
    feat_idx = list(range(raw_x_train.shape[1])) if select_all else [0, 1, 2, 3, 4]
    return raw_x_train[:, feat_idx], raw_x_valid[:, feat_idx], raw_x_test[:, feat_idx], y_train, y_valid


def trainer(train_loader, valid_loader, model, config, device):
    criterion = nn.MSELoss(reduction='mean')
    optimizer = torch.optim.SGD(model.parameters(), lr=config['learning_rate'], momentum=0.9)
    writer = SummaryWriter(os.path.join(config['out_dir'], 'runs'))
    n_epochs, best_loss, step, early_stop_count = config['n_epochs'], math.inf, 0, 0
    for epoch in range(n_epochs):
        model.train()
        loss_record = []
        train_pbar = tqdm(train_loader, position=0, leave=True, disable=True)
        for x, y in train_pbar:
            optimizer.zero_grad()
            x, y = x.to(device), y.to(device)
            pred = model(x)
            loss = criterion(pred, y)
            loss.backward()
            optimizer.step()
            step += 1
            loss_record.append(loss.detach().item())
            train_pbar.set_description(f'Epoch [{epoch+1}/{n_epochs}]')
            train_pbar.set_postfix({'loss': loss.detach().item()})
        mean_train_loss = sum(loss_record) / len(loss_record)
        writer.add_scalar('Loss/train', mean_train_loss, step)

        model.eval()
        loss_record = []
        for x, y in valid_loader:
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                pred = model(x)
                loss = criterion(pred, y)
            loss_record.append(loss.item())
        mean_valid_loss = sum(loss_record) / len(loss_record)
        if epoch % 10 == 0:
            print(f'Epoch [{epoch+1}/{n_epochs}]: Train loss: {mean_train_loss:.4f}, Valid loss: {mean_valid_loss:.4f}')
        writer.add_scalar('Loss/valid', mean_valid_loss, step)
        if mean_valid_loss < best_loss:
            best_loss = mean_valid_loss
            torch.save(model.state_dict(), config['save_path'])
            early_stop_count = 0
        else:
            early_stop_count += 1
        if early_stop_count >= config['early_stop']:
            print('\nModel is not improving, so we halt the training session.')
            break
    writer.close()
    return best_loss


def make_data(path, rows, features, seed, with_target=True):
    """A CSV in HW1's layout: an id column, features, and tested_positive last (a noisy linear-plus-square rule)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    w = np.linspace(-1.0, 1.0, features)
    y = 10 + x @ w + 0.5 * x[:, 0] ** 2 + rng.normal(scale=0.5, size=rows)
    with open(path, 'w', newline='') as f:
        out = csv.writer(f)
        out.writerow(['id'] + [f'f{i}' for i in range(features)] + (['tested_positive'] if with_target else []))
        for i in range(rows):
            out.writerow([i] + list(x[i]) + ([y[i]] if with_target else []))


if __name__ == '__main__':
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    config = {'seed': 5201314, 'select_all': True, 'valid_ratio': 0.2, 'n_epochs': 60, 'batch_size': 64,
              'learning_rate': 1e-3, 'early_stop': 20, 'save_path': os.path.join(out_dir, 'model.ckpt'),
              'out_dir': out_dir}
    same_seed(config['seed'])
    make_data(os.path.join(out_dir, 'covid.train.csv'), 600, 12, 1)
    make_data(os.path.join(out_dir, 'covid.test.csv'), 100, 12, 2, with_target=False)
    train_data = np.loadtxt(os.path.join(out_dir, 'covid.train.csv'), delimiter=',', skiprows=1)[:, 1:]
    test_data = np.loadtxt(os.path.join(out_dir, 'covid.test.csv'), delimiter=',', skiprows=1)[:, 1:]
    train_data, valid_data = train_valid_split(train_data, config['valid_ratio'], config['seed'])
    print(f"""train_data size: {train_data.shape}
valid_data size: {valid_data.shape}
test_data size: {test_data.shape}""")
    x_train, x_valid, x_test, y_train, y_valid = select_feat(train_data, valid_data, test_data, config['select_all'])
    print(f'number of features: {x_train.shape[1]}')
    train_dataset, valid_dataset, test_dataset = COVID19Dataset(x_train, y_train), \
        COVID19Dataset(x_valid, y_valid), COVID19Dataset(x_test)
    train_loader = DataLoader(train_dataset, batch_size=config['batch_size'], shuffle=True, pin_memory=True)
    valid_loader = DataLoader(valid_dataset, batch_size=config['batch_size'], shuffle=True, pin_memory=True)
    test_loader = DataLoader(test_dataset, batch_size=config['batch_size'], shuffle=False, pin_memory=True)
    model = My_Model(input_dim=x_train.shape[1]).to(device)
    best = trainer(train_loader, valid_loader, model, config, device)
    model = My_Model(input_dim=x_train.shape[1]).to(device)
    model.load_state_dict(torch.load(config['save_path']))
    preds = predict(test_loader, model, device)
    torch.save({'metric': 'valid_mse', 'value': float(best), 'n_preds': int(len(preds))},
               os.path.join(out_dir, 'result.pt'))
    print(f'best valid loss {best:.4f}')
