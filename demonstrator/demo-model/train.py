#!/usr/bin/python3
"""Trains the bundled demo CNN on Fashion-MNIST with PyTorch and dumps its weights.

Dev-only: run through `bash demonstrator/demo-model/train.sh`, which installs the Debian
packages (python3-torch, dataset-fashion-mnist), calls this script with /usr/bin/python3 and
then writes the Caffe files with the package's own writer (build-model.ts).

Output (in --out): one raw little-endian float32 file per blob (<layer>.<i>.f32) in Caffe's
layout, and manifest.json with the blob shapes, the training log, torch's test accuracy and
test-prob.f32 with torch's softmax scores of all test images (so the Node side can check that
our engine reproduces them). Deterministic: fixed seeds, a fixed thread count, deterministic algorithms.

Input scaling: the net is trained on pixel/255 (0..1); at export conv1's weights are divided
by 255, so the exported Caffe net takes raw 0..255 grey values with no mean. Everything after
conv1 is unchanged, so both nets compute the same function.
"""
import argparse
import gzip
import json
import os
import sys
import time

# One BLAS thread: torch parallelises with OpenMP itself (2 threads, below); letting OpenBLAS
# start its own threads as well oversubscribes the cores. Must be set before torch loads.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '2')

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = '/usr/share/datasets/fashion-mnist'

# Architecture (kept in sync with build-model.ts, which writes the Caffe definition).
C1, C2, H = 32, 64, 256
# LRN across channels. alpha is larger than CaffeNet's 1e-4 because this net's activations
# are of order 1 (CaffeNet's are in the hundreds): with 1e-4 the layer would be an identity.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1.0, 0.75, 1.0
DROPOUT = 0.5


def read_idx(path):
    """Reads an idx1/idx3 .gz file into a uint8 array."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], 'big')
    if magic >> 8 != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte idx file (magic {magic:#x})')
    ndim = magic & 0xff
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f'{path}: expected {dims} values, found {arr.size}')
    return arr.reshape(dims)


def load(split):
    images = read_idx(os.path.join(DATA_DIR, f'{split}-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(DATA_DIR, f'{split}-labels-idx1-ubyte.gz'))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # N x 1 x 28 x 28
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class DemoNet(nn.Module):
    """conv1-relu1-pool1-norm1-conv2-relu2-pool2-ip1-relu3-drop1-ip2(-prob)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, C1, 5, padding=2)      # 28 -> 28
        self.pool1 = nn.MaxPool2d(2, 2)                   # 28 -> 14
        # torch: b_c = a_c (k + alpha/n sum_{|c'-c|<=n/2} a_c'^2)^-beta, zero padded: Caffe's
        # ACROSS_CHANNELS LRN for odd n.
        self.norm1 = nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)
        self.conv2 = nn.Conv2d(C1, C2, 5)                 # 14 -> 10
        self.pool2 = nn.MaxPool2d(2, 2)                   # 10 -> 5
        self.ip1 = nn.Linear(C2 * 5 * 5, H)
        self.drop1 = nn.Dropout(DROPOUT)
        self.ip2 = nn.Linear(H, 10)

    def forward(self, x):
        x = self.norm1(self.pool1(F.relu(self.conv1(x))))
        x = self.pool2(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # C x H x W row-major, as Caffe's InnerProduct
        x = self.drop1(F.relu(self.ip1(x)))
        return self.ip2(x)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='directory for the weight dump')
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=20240607)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(args.seed)

    x_train, y_train = load('train')
    x_test, y_test = load('t10k')
    print(f'train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, torch {torch.__version__}', flush=True)

    model = DemoNet()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    # Lower the learning rate (x0.3) after 60% and 80% of the epochs: a steadier end point.
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[args.epochs * 6 // 10, args.epochs * 8 // 10], gamma=0.3)
    log = []
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        sched.step()
        acc = evaluate(model, x_test, y_test)
        entry = {'epoch': epoch, 'loss': round(total / seen, 5), 'testAccuracy': acc, 'seconds': round(time.time() - t0, 1)}
        log.append(entry)
        print(f"epoch {epoch:2d}  loss {entry['loss']:.4f}  test accuracy {acc:.4f}  ({entry['seconds']} s)", flush=True)

    model.eval()
    os.makedirs(args.out, exist_ok=True)
    blobs = {}

    def dump(layer, tensors):
        shapes = []
        for i, t in enumerate(tensors):
            a = np.ascontiguousarray(t.detach().numpy().astype('<f4'))
            a.tofile(os.path.join(args.out, f'{layer}.{i}.f32'))
            shapes.append(list(a.shape))
        blobs[layer] = shapes

    # torch's layouts equal Caffe's: conv [out, in, kh, kw], linear [out, in].
    dump('conv1', [model.conv1.weight / 255.0, model.conv1.bias])  # raw 0..255 input
    dump('conv2', [model.conv2.weight, model.conv2.bias])
    dump('ip1', [model.ip1.weight, model.ip1.bias])
    dump('ip2', [model.ip2.weight, model.ip2.bias])

    # Softmax scores of every test image, for the engine-vs-torch check on the Node side.
    with torch.no_grad():
        probs = torch.cat([F.softmax(model(x_test[i:i + 1000]), 1) for i in range(0, len(x_test), 1000)])
    probs.numpy().astype('<f4').tofile(os.path.join(args.out, 'test-prob.f32'))
    manifest = {
        'torch': torch.__version__,
        'seed': args.seed,
        'epochs': args.epochs,
        'batch': args.batch,
        'lr': args.lr,
        'architecture': {'conv1': C1, 'conv2': C2, 'ip1': H, 'lrn': [LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K], 'dropout': DROPOUT},
        'blobs': blobs,
        'log': log,
        'trainingSeconds': round(time.time() - t0, 1),
        'torchTestAccuracy': log[-1]['testAccuracy'],
        'testProb': [len(x_test), 10],
    }
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    print(f'weights written to {args.out}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
