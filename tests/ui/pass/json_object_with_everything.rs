// A strict JSON file that names the network and its shapes itself, using every layer option.
cnn::cnn_from_json!("json_object_with_everything.json");

use cnn::burn::tensor::Tensor;
use cnn::runtime::Network;

fn main() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let net = EveryLayer::new(&device);
    // 17 -> conv 3x3/2 same 9 -> avg 2x2/1 same 9 -> conv 2x3 valid 8x7 -> conv pad (1, 2) 8x9
    // -> max 3x3/2 valid 3x4 -> conv 1x1 3x4, so fc1 sees 3 * 3 * 4 = 36 values.
    assert_eq!(net.fc1.weight.dims(), [36, 8]);
    let logits = net.forward(Tensor::ones([3, 3, 17, 17], &device));
    assert_eq!(logits.dims(), [3, 5]);
    assert_eq!(Network::name(&net), "EveryLayer");
    assert!(EveryLayer::summary().contains("Total params"));
    let _ = (
        &net.conv1_bn,
        &net.conv1_dropout,
        &net.pool2_dropout,
        &net.fc1_bn,
        &net.fc2_dropout,
    );
}
