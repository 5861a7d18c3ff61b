#!/usr/bin/python3
"""PyTorch peer for the LeNet.NET benchmark: the same lenet5 (conv 6@5x5 same, max pool, conv 16@5x5,
max pool, conv 120@5x5, dense 84, dense 10; relu; softmax cross-entropy; Adam), trained on the same
MNIST images with the same batch size and thread count. The bench starts this script, sends one
command per line on stdin and reads one JSON line per command on stdout:
  train BATCH THREADS STEPS WARMUP  ->  {"batch", "threads", "stepSeconds": [...]}
  quit
"""
import gzip, json, struct, sys, time

import torch
import torch.nn as nn


def read_images(path, limit):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, "not an IDX image file"
        n = min(n, limit)
        data = f.read(n * rows * cols)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(n, 1, rows, cols)


def read_labels(path, limit):
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 2049, "not an IDX label file"
        n = min(n, limit)
        data = f.read(n)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main():
    data_dir = sys.argv[1]
    limit = 16384
    images = read_images(f"{data_dir}/train-images-idx3-ubyte.gz", limit).float()
    # The same standardisation as LeNet.NET's lenet5 input encoding (MNIST mean and deviation).
    images = (images / 255.0 - 0.1307) / 0.3081
    labels = read_labels(f"{data_dir}/train-labels-idx1-ubyte.gz", limit)
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        batch, threads, steps, warmup = (int(x) for x in parts[1:5])
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        model = lenet5()
        opt = torch.optim.Adam(model.parameters(), lr=0.002)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for s in range(warmup + steps):
            start = (s * batch) % (limit - batch)
            x, y = images[start:start + batch], labels[start:start + batch]
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            t1 = time.perf_counter()
            if s >= warmup:
                times.append(t1 - t0)
        print(json.dumps({"batch": batch, "threads": threads, "stepSeconds": times}), flush=True)


if __name__ == "__main__":
    main()
