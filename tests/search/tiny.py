# A tiny search space for the search tests: networks that train in about a second.
SPACE = {
  'conv_layers': (1, 2),
  'fc_layers': (0, 1),
  'conv': {'num_output': [4, 8], 'kernel_height': [3, 5], 'kernel_width': 3, 'stride': [1, 2]},
  'pool': {'pool': ['none', 'max'], 'kernel_size': 2, 'stride': 2},
  'fc': {'num_output': [16, 32]},
  'constraints': {'max_params': 40000, 'min_spatial': 3},
}
