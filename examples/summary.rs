//! Builds the seed network from its architecture file, prints its summary and runs a forward
//! pass: `cargo run --release --example summary`.

use cnn::burn::tensor::{Distribution, Tensor};
use cnn::runtime::Backend;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = Backend::default();
    let device = backend.device()?;
    println!("{}", MnistNet::summary());
    let net = MnistNet::new(&device);
    let [c, h, w] = MnistNet::INPUT;
    let images = Tensor::<4>::random([4, c, h, w], Distribution::Uniform(0.0, 1.0), &device);
    let start = std::time::Instant::now();
    let logits = net.forward(images);
    let probabilities = cnn::burn::tensor::activation::softmax(logits, 1);
    println!(
        "forward pass of 4 random images on {backend}: {:?}",
        start.elapsed()
    );
    let all: Vec<f32> = probabilities.into_data().try_to_vec()?;
    let first = &all[..MnistNet::CLASSES];
    let shown: Vec<String> = first.iter().map(|p| format!("{p:.3}")).collect();
    println!(
        "class probabilities of the first image (untrained): [{}]",
        shown.join(", ")
    );
    Ok(())
}
