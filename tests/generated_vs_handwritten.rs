//! A generated network and the same network written by hand, with the same weights, compute
//! the same logits and the same gradients (the generated one through `cnn::runtime::nn::conv`, the
//! hand-written one through burn's `Conv2d`); their parameter counts agree with the
//! architecture's.

#[path = "common/handwritten.rs"]
mod handwritten;

use cnn::burn::module::{Module, Param};
use cnn::burn::tensor::{Device, Distribution, Tensor, TensorData, Tolerance};
use handwritten::HandSeed;
use rand::SeedableRng;
use rand::rngs::StdRng;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

/// The hand-written network with every weight copied from the generated one.
fn copy_weights(net: &MnistNet, hand: HandSeed) -> HandSeed {
    let mut hand = hand;
    for (dst, src) in [
        (&mut hand.c1, &net.conv1),
        (&mut hand.c2, &net.conv2),
        (&mut hand.c3, &net.conv3),
        (&mut hand.c4, &net.conv4),
        (&mut hand.c5, &net.conv5),
    ] {
        dst.weight = src.weight.clone();
        dst.bias = src.bias.clone();
    }
    for (dst, src) in [
        (&mut hand.f1, &net.fc1),
        (&mut hand.f2, &net.fc2),
        (&mut hand.out, &net.output),
    ] {
        dst.weight = src.weight.clone();
        dst.bias = src.bias.clone();
    }
    hand
}

#[test]
fn same_weights_give_the_same_logits() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    device.seed(7);
    let net = MnistNet::new(&device);
    let hand = copy_weights(&net, HandSeed::new(&device));
    let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
    let generated = net.forward(images.clone()).into_data();
    let by_hand = hand.forward(images).into_data();
    generated.assert_approx_eq::<f32>(&by_hand, Tolerance::absolute(1e-5));
    // Different initial weights would give different logits: the comparison can fail.
    let other = HandSeed::new(&device);
    let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
    let a: Vec<f32> = net
        .forward(images.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let b: Vec<f32> = other
        .forward(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-3));
}

/// Dropout off (probability 0) in both, so that the two forwards are deterministic.
fn without_dropout(mut net: MnistNet, mut hand: HandSeed) -> (MnistNet, HandSeed) {
    for d in [
        &mut net.conv2_dropout,
        &mut net.pool1_dropout,
        &mut net.conv4_dropout,
        &mut net.fc1_dropout,
        &mut hand.d2,
        &mut hand.dp1,
        &mut hand.d4,
        &mut hand.df1,
    ] {
        d.prob = 0.0;
    }
    (net, hand)
}

/// Values from the test's own generator. The device's generator is global and the tests
/// beside this one reseed it, so drawing from it here would change the data run by run.
fn drawn<const D: usize>(shape: [usize; D], bound: f64, rng: &mut StdRng) -> TensorData {
    TensorData::random::<f32, _, _>(shape, Distribution::Uniform(-bound, bound), rng)
}

/// The generated network with every weight and bias drawn from `rng`, within burn's default
/// bounds (1 / sqrt(fan in)).
fn drawn_net(device: &Device, rng: &mut StdRng) -> MnistNet {
    let mut net = MnistNet::new(device);
    let mut fill = |weight: &mut Param<Tensor<4>>, bias: &mut Option<Param<Tensor<1>>>| {
        let dims = weight.dims();
        let bound = 1.0 / ((dims[1] * dims[2] * dims[3]) as f64).sqrt();
        *weight = Param::from_data(drawn(dims, bound, rng), device);
        *bias = Some(Param::from_data(drawn([dims[0]], bound, rng), device));
    };
    for conv in [
        &mut net.conv1,
        &mut net.conv2,
        &mut net.conv3,
        &mut net.conv4,
        &mut net.conv5,
    ] {
        fill(&mut conv.weight, &mut conv.bias);
    }
    for dense in [&mut net.fc1, &mut net.fc2, &mut net.output] {
        let [inputs, outputs] = dense.weight.dims();
        let bound = 1.0 / (inputs as f64).sqrt();
        dense.weight = Param::from_data(drawn([inputs, outputs], bound, rng), device);
        dense.bias = Some(Param::from_data(drawn([outputs], bound, rng), device));
    }
    net
}

/// Equal up to rounding, except where a unit's input lies within rounding of a ReLU's kink
/// (or two pooled values within rounding of each other): there the two summation orders can
/// take different branches. A few percent of random draws meet one, so the data is fixed.
#[test]
fn same_weights_give_the_same_gradients() {
    let device = cnn::runtime::Backend::Flex.device().unwrap().autodiff();
    let mut rng = StdRng::seed_from_u64(11);
    let net = drawn_net(&device, &mut rng);
    let hand = copy_weights(&net, HandSeed::new(&device));
    let (net, hand) = without_dropout(net, hand);
    let images = Tensor::<4>::from_data(drawn([2, 1, 28, 28], 1.0, &mut rng), &device).abs();
    let weights = Tensor::<2>::from_data(drawn([2, 10], 1.0, &mut rng), &device);
    let grads = (net.forward(images.clone()) * weights.clone())
        .sum()
        .backward();
    let hand_grads = (hand.forward(images) * weights).sum().backward();
    for (ours, theirs) in [
        (&net.conv1, &hand.c1),
        (&net.conv2, &hand.c2),
        (&net.conv3, &hand.c3),
        (&net.conv4, &hand.c4),
        (&net.conv5, &hand.c5),
    ] {
        let a = ours.weight.val().grad(&grads).expect("weight gradient");
        let b = theirs
            .weight
            .val()
            .grad(&hand_grads)
            .expect("weight gradient");
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-4));
        let bias = |c: &cnn::burn::nn::conv::Conv2d, g| c.bias.as_ref().unwrap().val().grad(g);
        let (a, b) = (
            bias(ours, &grads).unwrap(),
            bias(theirs, &hand_grads).unwrap(),
        );
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-4));
    }
}

#[test]
fn parameter_counts_agree() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    assert_eq!(MnistNet::new(&device).num_params(), 3_157_002);
    assert_eq!(HandSeed::new(&device).num_params(), 3_157_002);
}

#[test]
#[should_panic(
    expected = "MnistNet::forward expects images of shape [batch, 1, 28, 28], got [2, 3, 28, 28]"
)]
fn wrong_input_shape_names_the_network() {
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    MnistNet::new(&device).forward(Tensor::zeros([2, 3, 28, 28], &device));
}
