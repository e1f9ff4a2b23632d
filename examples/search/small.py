# A small search space for 28x28 grey images (MNIST, Fashion-MNIST): one to three
# convolution blocks, each optionally pooled, then up to one fully connected layer.
# Check it with `cnn search check examples/search/small.py`.
SPACE = {
  'conv_layers': (1, 3),
  'fc_layers': (0, 1),
  'conv': {
    'num_output': [8, 16, 32, 64],
    'kernel_height': [3, 5],
    'kernel_width': [3, 5],
    'stride': [1, 2],
    'activation': ['relu', 'elu'],
    'batch_norm': [False, True],
    'drop_out': [0.0, 10.0, 25.0],
  },
  'pool': {'pool': ['none', 'max', 'avg'], 'kernel_size': [2, 3], 'stride': 2},
  'fc': {'num_output': [64, 128, 256], 'drop_out': [0.0, 25.0, 50.0]},
  'constraints': {'max_params': 1000000, 'max_macs': 20000000, 'min_spatial': 3},
}
