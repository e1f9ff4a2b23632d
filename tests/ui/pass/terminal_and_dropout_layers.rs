// `T` ends a list as the output layer written out; `DO` is a dropout layer of its own.
cnn::cnn_from_json!("seed_with_terminal.arch", name = SeedT, input = [1, 28, 28], classes = 10);
cnn::cnn_from_json!("dropout_layers.arch", name = WithDropout, input = [1, 28, 28], classes = 10);

use cnn::burn::module::Module;
use cnn::burn::tensor::Tensor;

fn main() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let seed = SeedT::new(&device);
    assert_eq!(seed.num_params(), 3_157_002, "the seed's parameters, T included");
    assert_eq!(seed.forward(Tensor::zeros([2, 1, 28, 28], &device)).dims(), [2, 10]);
    assert!(SeedT::summary().contains("output (T 10)"), "{}", SeedT::summary());

    let net = WithDropout::new(&device);
    // The dropout layers are fields of their own, with the rates of the file.
    assert_eq!((net.dropout1.prob, net.dropout2.prob), (0.25, 0.1));
    assert_eq!(net.output.weight.dims(), [32, 10]);
    assert_eq!(net.forward(Tensor::zeros([3, 1, 28, 28], &device)).dims(), [3, 10]);
    let summary = WithDropout::summary();
    assert!(summary.contains("dropout1 (DO 25%)"), "{summary}");
    assert!(summary.contains("output (T softmax 10)"), "{summary}");
}
