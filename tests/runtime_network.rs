//! Networks built at run time (`Net`) against the structs `cnn_from_json!` generates from the
//! same files: the same parameters, logits, saved weights and training, and at run time the
//! same messages as the compiler gives for every broken file in `tests/ui/fail`.

use cnn::arch::Overrides;
use cnn::burn::module::Module;
use cnn::burn::tensor::{Device, Distribution, Tensor};
use cnn::runtime::data::mnist;
use cnn::runtime::nn::{Net, NetError};
use cnn::runtime::train::{Interrupt, Quiet, TrainConfig, Trainer};
use cnn::runtime::weights::{self, WeightsError};
use cnn::runtime::{Backend, Network};
use parameters::parameters;

#[path = "common/parameters.rs"]
mod parameters;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/ui_cases.rs"]
mod ui_cases;
use serial::serial;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = CifarNet,
    input = [3, 32, 32],
    classes = 10
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FerNet,
    input = [1, 48, 48],
    classes = 7
);
// The accuracy examples' files name their struct, input and classes themselves.
cnn::cnn_from_json!("examples/arch/mnist-best.json");
cnn::cnn_from_json!("examples/arch/fashion-best.json");
cnn::cnn_from_json!(
    "tests/arch/batch_norm.arch",
    name = NormNet,
    input = [3, 20, 24],
    classes = 5
);
cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

fn overrides(name: &str, input: [usize; 3], classes: usize) -> Overrides {
    Overrides {
        name: Some(name.into()),
        input: Some(input),
        classes: Some(classes),
    }
}

/// The network `cnn_from_json!(path, name, input, classes)` generates, built at run time.
fn runtime(path: &str, name: &str, input: [usize; 3], classes: usize) -> Net {
    Net::from_file(path, &overrides(name, input, classes), &device()).unwrap()
}

/// `generated`'s weights saved, then loaded into `net`; the two networks' logits on one batch.
fn shared_weights<M: Network>(generated: M, net: Net) -> (Vec<f32>, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated.bpk");
    generated.clone().save_file(&file).unwrap();
    let net = weights::load(net, &file).unwrap();
    let [c, h, w] = generated.input();
    let images = Tensor::<4>::random([3, c, h, w], Distribution::Default, &device());
    let logits = |x: Tensor<2>| x.into_data().try_to_vec::<f32>().unwrap();
    (
        logits(generated.valid().logits(images.clone())),
        logits(net.valid().logits(images)),
    )
}

fn agree<M: Network>(generated: M, net: Net) {
    assert_eq!(
        net.num_params(),
        generated.num_params(),
        "{}",
        generated.name()
    );
    assert_eq!(net.summary(), generated.summary());
    assert_eq!(
        (net.input(), net.classes()),
        (generated.input(), generated.classes())
    );
    let (theirs, ours) = shared_weights(generated, net);
    assert_eq!(
        theirs.len(),
        3 * Network::classes(&MnistNet::new(&device())).min(theirs.len() / 3)
    );
    assert_eq!(theirs, ours, "the same weights give the same logits");
}

#[test]
fn generated_and_runtime_networks_agree_at_every_shape() {
    let _serial = serial();
    let seed = "examples/arch/seed.arch";
    agree(
        MnistNet::new(&device()),
        runtime(seed, "MnistNet", [1, 28, 28], 10),
    );
    agree(
        CifarNet::new(&device()),
        runtime(seed, "CifarNet", [3, 32, 32], 10),
    );
    agree(
        FerNet::new(&device()),
        runtime(seed, "FerNet", [1, 48, 48], 7),
    );
    let norm = runtime("tests/arch/batch_norm.arch", "NormNet", [3, 20, 24], 5);
    agree(NormNet::new(&device()), norm);
    assert_eq!(MnistNet::new(&device()).num_params(), 3_157_002);
    let digits = Net::from_file(
        "examples/arch/mnist-best.json",
        &Overrides::default(),
        &device(),
    );
    agree(DigitNet::new(&device()), digits.unwrap());
    let clothes = "examples/arch/fashion-best.json";
    let clothes = Net::from_file(clothes, &Overrides::default(), &device()).unwrap();
    assert_eq!(
        (clothes.name(), clothes.input()),
        ("FashionNet", [1, 28, 28])
    );
    agree(FashionNet::new(&device()), clothes);
}

#[test]
fn weights_saved_from_a_net_load_into_the_generated_struct() {
    let _serial = serial();
    let net = runtime("tests/arch/batch_norm.arch", "NormNet", [3, 20, 24], 5);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.bpk");
    net.clone().save_file(&file).unwrap();
    let generated = weights::load(NormNet::new(&device()), &file).unwrap();
    let images = Tensor::<4>::random([2, 3, 20, 24], Distribution::Default, &device());
    let logits = |x: Tensor<2>| x.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(
        logits(net.valid().logits(images.clone())),
        logits(generated.valid().logits(images))
    );
}

#[test]
fn weights_of_another_architecture_are_an_error_naming_the_first_difference() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cifar.bpk");
    CifarNet::new(&device()).save_file(&file).unwrap();
    let error = weights::load(MnistNet::new(&device()), &file).unwrap_err();
    assert!(matches!(error, WeightsError::Shape { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("do not fit MnistNet: `conv1.weight` is [64, 1, 3, 3] in the network but [64, 3, 3, 3] in the file"),
        "{message}"
    );
    let tiny = dir.path().join("tiny.bpk");
    TinyNet::new(&device()).save_file(&tiny).unwrap();
    let seed = runtime("examples/arch/seed.arch", "MnistNet", [1, 28, 28], 10);
    let error = weights::load(seed, &tiny);
    assert!(
        error
            .unwrap_err()
            .to_string()
            .contains("`conv1.weight` is [64, 1, 3, 3]")
    );
}

/// The same seed, data and settings give the same weights, to the bit, whichever way the
/// network was built; and the loss falls.
#[test]
fn a_runtime_network_trains_as_the_generated_one() {
    let _serial = serial();
    let data = mnist::embedded().limit_train(256, 1).limit_test(50, 1);
    let config = TrainConfig {
        epochs: 2,
        batch_size: 32,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer {
        config,
        device: device(),
        checkpoint: None,
        interrupt: Interrupt::new(),
        observer: &mut Quiet,
    };
    let generated = trainer.fit(TinyNet::new, &data, false).unwrap();
    let tiny = overrides("TinyNet", [1, 28, 28], 10);
    let architecture = cnn::arch::check(TinyNet::ARCH_JSON, &tiny).unwrap();
    let net = trainer
        .fit(|device| Net::new(&architecture, device), &data, false)
        .unwrap();
    let losses: Vec<f64> = net.history.iter().map(|m| m.train_loss).collect();
    assert!(losses[1] < losses[0], "{losses:?}");
    let curve = |history: &[cnn::runtime::report::EpochMetrics]| -> Vec<(f64, f64)> {
        history
            .iter()
            .map(|m| (m.train_loss, m.train_error))
            .collect()
    };
    assert_eq!(curve(&generated.history), curve(&net.history));
    assert_eq!(parameters(&generated.model), parameters(&net.model));
}

/// Every broken file of `tests/ui/fail` gives at run time the errors the compiler prints for
/// it, with file, line, column and layer.
#[test]
fn each_broken_file_gives_the_compilers_messages_at_run_time() {
    for case in ui_cases::cases() {
        let found = match Net::from_file(&case.file, &case.overrides, &device()) {
            Err(NetError::Invalid(messages)) => messages,
            other => panic!("{}: expected errors, got {other:?}", case.name),
        };
        let found: Vec<String> = found.iter().map(|m| ui_cases::as_compiled(m)).collect();
        assert_eq!(found, case.expected, "{}", case.name);
    }
}

/// The safetensors export has exactly the names and shapes of the module `bench/seed_torch.py`
/// builds from the seed ARCH (`tests/torch/seed_state.json`, written by
/// `bench/export_check.py --state-shapes`), and PyTorch's `[out, in]` for linear weights.
#[test]
fn the_export_has_pytorchs_names_and_shapes() {
    let _serial = serial();
    let expected: std::collections::BTreeMap<String, Vec<usize>> =
        serde_json::from_str(&std::fs::read_to_string("tests/torch/seed_state.json").unwrap())
            .unwrap();
    let net = runtime("examples/arch/seed.arch", "MnistNet", [1, 28, 28], 10);
    let exported = cnn::runtime::export::torch_tensors(&net).unwrap();
    let found: std::collections::BTreeMap<String, Vec<usize>> = exported
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    assert_eq!(found, expected);
    // fc1: burn's [6400, 256] read as PyTorch's [256, 6400].
    let fc1 = net.clone().valid();
    let weight = parameters(&fc1)
        .into_iter()
        .find(|(name, _)| name == "fc1.weight")
        .unwrap()
        .1;
    let torch = exported
        .iter()
        .find(|t| t.name == "layers.7.op.weight")
        .unwrap();
    assert_eq!(
        torch.values[6400], weight[1],
        "row 1 of PyTorch's is column 1 of burn's"
    );
    assert_eq!(torch.values[1], weight[256]);
}
