// A bare layer list with the shapes given at the call; the struct is then called `Cnn`.
cnn::cnn_from_json!("name_defaults_to_cnn.json", input = [1, 8, 8], classes = 2);

mod inner {
    // The same file again, in another module and under another name.
    cnn::cnn_from_json!(
        "name_defaults_to_cnn.json",
        name = Tiny,
        input = [1, 4, 4],
        classes = 3
    );
}

fn main() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let net = Cnn::new(&device);
    assert_eq!(
        net.forward(cnn::burn::tensor::Tensor::zeros([1, 1, 8, 8], &device))
            .dims(),
        [1, 2]
    );
    assert_eq!(inner::Tiny::CLASSES, 3);
}
