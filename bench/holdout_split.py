"""A development copy of an IDX dataset (MNIST, Fashion-MNIST) for choosing a recipe without
the test set: its training files hold the first 50,000 training images, its "test" files the
last 10,000 training images. The official test files are not read.

    python3 bench/holdout_split.py ../shared/data/fashion-mnist runs/fashion-dev
    cnn train ARCH --dataset fashion-mnist --data-dir runs/fashion-dev --validation 0 ...

The "test accuracy" such a run reports is its accuracy on the 10,000 held-out training images.
"""
import gzip, struct, sys, os
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
def read(name):
    return gzip.open(os.path.join(src, name)).read()
img, lab = read('train-images-idx3-ubyte.gz'), read('train-labels-idx1-ubyte.gz')
n = 60000; k = 50000; px = 784
def write_images(name, lo, hi):
    with gzip.open(os.path.join(dst, name), 'wb', compresslevel=1) as f:
        f.write(struct.pack('>IIII', 2051, hi - lo, 28, 28)); f.write(img[16 + lo*px:16 + hi*px])
def write_labels(name, lo, hi):
    with gzip.open(os.path.join(dst, name), 'wb', compresslevel=1) as f:
        f.write(struct.pack('>II', 2049, hi - lo)); f.write(lab[8 + lo:8 + hi])
write_images('train-images-idx3-ubyte.gz', 0, k); write_labels('train-labels-idx1-ubyte.gz', 0, k)
write_images('t10k-images-idx3-ubyte.gz', k, n); write_labels('t10k-labels-idx1-ubyte.gz', k, n)
