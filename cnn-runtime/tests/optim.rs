//! The fused optimizer steps on the CPU give burn's Adam and SGD weights to the last bit, step
//! after step, and share their checkpoints.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use cnn_runtime::nn::Net;
use cnn_runtime::nn::loss::{Targets, cross_entropy_of};
use cnn_runtime::train::optim;
use cnn_runtime::{Backend, Network};

fn device() -> Device {
    Backend::Flex.device().unwrap().autodiff()
}

/// A convolution, a pooling and two fully connected layers: tensors of rank 1, 2 and 4.
fn net() -> Net {
    let text = "[{'type':'C','activation':'relu','num_output':6,'kernel_size':3},\
                 {'type':'P','pool':'max','kernel_size':2,'stride':2},\
                 {'type':'FC','activation':'relu','num_output':20}]";
    let overrides = cnn_arch::Overrides {
        input: Some([1, 12, 12]),
        classes: Some(5),
        ..Default::default()
    };
    Net::new(&cnn_arch::check(text, &overrides).unwrap(), &device())
}

/// The gradients of the loss on a fixed random batch.
fn gradients(net: &Net) -> GradientsParams {
    let device = device();
    let pixels = (0..8 * 144)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [8, 1, 12, 12]), &device);
    let labels = TensorData::new((0..8i64).map(|i| i % 5).collect(), [8]);
    let labels = Tensor::<1, Int>::from_data(labels, &device);
    let loss = cross_entropy_of(net.logits(images), Targets::new(labels, 5));
    GradientsParams::from_grads(loss.backward(), net)
}

/// Every parameter's values, in order.
#[derive(Default)]
struct Values(Vec<Vec<f32>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0
            .push(param.val().into_data().try_to_vec::<f32>().unwrap());
    }
}

fn values(net: &Net) -> Vec<Vec<f32>> {
    let mut values = Values::default();
    net.visit(&mut values);
    values.0
}

/// Both optimizers from the same weights, `steps` steps each on the same batches at changing
/// learning rates: the weights must agree bit for bit after every step.
fn assert_same_steps(mut burns: ModuleOptimizer, mut fused: ModuleOptimizer, steps: usize) {
    let mut a = net();
    let mut b = a.clone();
    for step in 0..steps {
        let lr = 1e-3 / (1.0 + step as f64);
        let ga = gradients(&a);
        let gb = gradients(&b);
        a = burns.step(lr, a, ga);
        b = fused.step(lr, b, gb);
        for (x, y) in values(&a).iter().zip(values(&b)) {
            let same = x.iter().zip(&y).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "the weights differ after step {}", step + 1);
        }
    }
    assert!(values(&a) != values(&net()), "the steps changed nothing");
}

#[test]
fn every_parameter_of_a_network_qualifies_for_the_fused_step() {
    let mut all = Values::default();
    struct Whole(bool);
    impl ModuleVisitor for Whole {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0 &= optim::fuses(&param.val().inner());
        }
    }
    let mut whole = Whole(true);
    let net = net();
    net.visit(&mut whole);
    net.visit(&mut all);
    assert!(whole.0 && all.0.len() == 6);
}

#[test]
fn fused_adam_gives_burns_weights() {
    for decay in [None, Some(1e-3)] {
        let burns = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay.map(WeightDecayConfig::new))
            .init();
        assert_same_steps(burns, optim::adam(1e-8, decay), 6);
    }
}

#[test]
fn fused_sgd_gives_burns_weights() {
    let momenta = [
        None,
        Some(MomentumConfig::new()),
        Some(
            MomentumConfig::new()
                .with_nesterov(true)
                .with_dampening(0.0),
        ),
    ];
    for momentum in momenta {
        for decay in [None, Some(1e-3)] {
            let burns = SgdConfig::new()
                .with_weight_decay(decay.map(WeightDecayConfig::new))
                .with_momentum(momentum.clone())
                .init();
            assert_same_steps(burns, optim::sgd(decay, momentum.clone()), 4);
        }
    }
}

/// A checkpoint of burn's Adam or SGD resumes with the fused one, and the other way round.
#[test]
fn checkpoints_resume_with_either_step() {
    let burns_adam = || {
        AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(Some(WeightDecayConfig::new(1e-3)))
            .init()
    };
    let fused_adam = || optim::adam(1e-8, Some(1e-3));
    assert_resumes(burns_adam, fused_adam);
    let momentum = MomentumConfig::new();
    let burns_sgd = || {
        SgdConfig::new()
            .with_momentum(Some(momentum.clone()))
            .init()
    };
    let fused_sgd = || optim::sgd(None, Some(momentum.clone()));
    assert_resumes(burns_sgd, fused_sgd);
}

/// Two steps with one optimizer, saved, loaded into the other and two more steps: the weights
/// of four steps of burn's.
fn assert_resumes(burns: impl Fn() -> ModuleOptimizer, fused: impl Fn() -> ModuleOptimizer) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optimizer.bpk");
    for (first, then) in [(burns(), fused()), (fused(), burns())] {
        let (mut first, mut reference) = (first, burns());
        let mut a = net();
        let mut b = a.clone();
        for _ in 0..2 {
            let (ga, gb) = (gradients(&a), gradients(&b));
            a = first.step(1e-3, a, ga);
            b = reference.step(1e-3, b, gb);
        }
        first.save(&path).unwrap();
        let mut then = then.load(&path).unwrap();
        for _ in 0..2 {
            let (ga, gb) = (gradients(&a), gradients(&b));
            a = then.step(1e-3, a, ga);
            b = reference.step(1e-3, b, gb);
        }
        assert_eq!(values(&a), values(&b));
    }
}
