//! A generated network and the same network written by hand, with the same weights, compute
//! the same logits and the same gradients (the generated one through `cnn::runtime::conv`, the
//! hand-written one through burn's `Conv2d`); their parameter counts agree with the
//! architecture's.

#[path = "common/handwritten.rs"]
mod handwritten;

use cnn::burn::module::Module;
use cnn::burn::tensor::{Distribution, Tensor, Tolerance};
use handwritten::HandSeed;

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

#[test]
fn same_weights_give_the_same_gradients() {
    let device = cnn::runtime::Backend::Flex.device().unwrap().autodiff();
    device.seed(11);
    let net = MnistNet::new(&device);
    let hand = copy_weights(&net, HandSeed::new(&device));
    let (net, hand) = without_dropout(net, hand);
    let images = Tensor::<4>::random([5, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
    let weights = Tensor::<2>::random([5, 10], Distribution::Uniform(-1.0, 1.0), &device);
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
