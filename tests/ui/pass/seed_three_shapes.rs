// The user's seed ARCH, pasted verbatim from their notebook, at the three shapes they train it
// on; one file serves all three networks.
cnn::cnn_from_json!(
    "../../../examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);
cnn::cnn_from_json!(
    "../../../examples/arch/seed.arch",
    name = CifarNet,
    input = [3, 32, 32],
    classes = 10
);
cnn::cnn_from_json!(
    "../../../examples/arch/seed.arch",
    name = FerNet,
    input = [1, 48, 48],
    classes = 7
);

use cnn::burn::module::Module;
use cnn::burn::tensor::Tensor;

fn main() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let mnist = MnistNet::new(&device);
    assert_eq!(mnist.num_params(), 3_157_002);
    let logits = mnist.forward(Tensor::zeros([2, 1, 28, 28], &device));
    assert_eq!(logits.dims(), [2, 10]);
    let cifar = CifarNet::new(&device);
    assert_eq!(
        cifar.forward(Tensor::zeros([1, 3, 32, 32], &device)).dims(),
        [1, 10]
    );
    let fer = FerNet::new(&device);
    assert_eq!(
        fer.forward(Tensor::zeros([1, 1, 48, 48], &device)).dims(),
        [1, 7]
    );
    assert_eq!((FerNet::INPUT, FerNet::CLASSES), ([1, 48, 48], 7));
    assert!(MnistNet::ARCH_JSON.starts_with("ARCH = ["));
}
