# A small space for tests: up to two convolution blocks and one fully connected layer.
SPACE = {
  'conv_layers': (1, 2),
  'fc_layers': (0, 1),
  'conv': {'num_output': [4, 8], 'kernel_height': [3, 5], 'kernel_width': [3, 5],
           'stride': [1, 2], 'drop_out': [0.0, 10.0]},
  'pool': {'pool': ['none', 'max', 'avg'], 'kernel_size': 2, 'stride': 2},
  'fc': {'num_output': [16, 32]},
  'constraints': {'max_params': 60000, 'min_spatial': 3},
}
