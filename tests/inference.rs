//! Saved weights load into the generated network, and image files are predicted exactly like
//! the same pixels coming from the dataset.

use cnn::burn::module::Module;
use cnn::runtime::Backend;
use cnn::runtime::data::{ImageBatcher, mnist};
use cnn::runtime::eval::infer::{self, InferError};
use cnn::runtime::weights::WeightsError;

cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

#[test]
fn saved_weights_and_image_files_give_the_dataset_predictions() {
    let device = Backend::Flex.device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("model.bpk");
    TinyNet::new(&device).save_file(&weights).unwrap();
    let model = infer::load(TinyNet::new(&device), &weights).unwrap();

    let test = mnist::embedded().test;
    let expected = infer::predict(
        &model,
        test.batch_tensor(&[0], &ImageBatcher::default(), &device)
            .images,
    )
    .remove(0);
    let png = dir.path().join("digit.png");
    image::GrayImage::from_raw(28, 28, test.image(0).to_vec())
        .unwrap()
        .save(&png)
        .unwrap();
    let from_file = infer::predict_file(&model, &png, false, &device).unwrap();
    assert_eq!(from_file.label, expected.label);
    for (a, b) in from_file.probabilities.iter().zip(&expected.probabilities) {
        assert!(
            (a - b).abs() < 1e-6,
            "{:?} vs {:?}",
            from_file.probabilities,
            expected.probabilities
        );
    }

    // A larger colour image is converted to grey and resized to the network's input.
    let inverted: Vec<u8> = test.image(0).iter().map(|p| 255 - p).collect();
    let rgb =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(28, 28, inverted).unwrap())
            .resize_exact(56, 56, image::imageops::FilterType::Nearest)
            .to_rgb8();
    let big = dir.path().join("big.png");
    rgb.save(&big).unwrap();
    let tensor = infer::image_tensor(&model, &big, true, &device).unwrap();
    assert_eq!(tensor.dims(), [1, 1, 28, 28]);
    let restored: Vec<f32> = tensor.into_data().try_to_vec().unwrap();
    let original: Vec<f32> = test
        .image(0)
        .iter()
        .map(|p| f32::from(*p) / 255.0)
        .collect();
    let mean_error = restored
        .iter()
        .zip(&original)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / 784.0;
    // The triangle filter smooths stroke edges a little; the digit itself comes back.
    assert!(
        mean_error < 0.03,
        "inverted, downscaled digit is off by {mean_error} on average"
    );
}

#[test]
fn missing_files_are_errors_naming_the_path() {
    let device = Backend::Flex.device().unwrap();
    let error = infer::load(TinyNet::new(&device), "no/such/model.bpk")
        .err()
        .unwrap();
    assert!(matches!(
        error,
        InferError::Weights(WeightsError::Read { .. })
    ));
    assert!(error.to_string().contains("no/such/model.bpk"), "{error}");
    let model = TinyNet::new(&device);
    let error = infer::predict_file(&model, "no/such/digit.png", false, &device).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read image no/such/digit.png"),
        "{error}"
    );
}
