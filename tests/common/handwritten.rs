//! The seed network written by hand with burn, as a user would without the macro: burn's own
//! `PaddingConfig2d::Same` (computed at run time) instead of the macro's precomputed padding,
//! and the same (TensorFlow) initialisation, since training speed depends on the weights'
//! values.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use cnn::burn;

#[derive(Module, Debug)]
pub struct HandSeed {
    pub c1: Conv2d,
    pub c2: Conv2d,
    pub d2: Dropout,
    pub p1: MaxPool2d,
    pub dp1: Dropout,
    pub c3: Conv2d,
    pub c4: Conv2d,
    pub d4: Dropout,
    pub p2: MaxPool2d,
    pub c5: Conv2d,
    pub f1: Linear,
    pub df1: Dropout,
    pub f2: Linear,
    pub out: Linear,
}

fn conv(c_in: usize, c_out: usize, k: usize, device: &Device) -> Conv2d {
    let config = Conv2dConfig::new([c_in, c_out], [k, k]).with_padding(PaddingConfig2d::Same);
    cnn::runtime::nn::init::conv2d(config, device)
}

fn pool(k: usize, s: usize) -> MaxPool2d {
    MaxPool2dConfig::new([k, k])
        .with_strides([s, s])
        .with_padding(PaddingConfig2d::Same)
        .init()
}

impl HandSeed {
    /// The seed ARCH for 1x28x28 images and 10 classes.
    pub fn new(device: &Device) -> Self {
        HandSeed {
            c1: conv(1, 64, 3, device),
            c2: conv(64, 128, 3, device),
            d2: DropoutConfig::new(0.083).init(),
            p1: pool(2, 2),
            dp1: DropoutConfig::new(0.167).init(),
            c3: conv(128, 256, 3, device),
            c4: conv(256, 128, 5, device),
            d4: DropoutConfig::new(0.167).init(),
            p2: pool(5, 3),
            c5: conv(128, 256, 3, device),
            f1: cnn::runtime::nn::init::linear(LinearConfig::new(256 * 5 * 5, 256), device),
            df1: DropoutConfig::new(0.083).init(),
            f2: cnn::runtime::nn::init::linear(LinearConfig::new(256, 128), device),
            out: cnn::runtime::nn::init::linear(LinearConfig::new(128, 10), device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.c1.forward(x));
        let x = self.d2.forward(relu(self.c2.forward(x)));
        let x = self.dp1.forward(self.p1.forward(x));
        let x = relu(self.c3.forward(x));
        let x = self.d4.forward(relu(self.c4.forward(x)));
        let x = self.p2.forward(x);
        let x = relu(self.c5.forward(x));
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.df1.forward(relu(self.f1.forward(x)));
        let x = relu(self.f2.forward(x));
        self.out.forward(x)
    }
}

impl cnn::runtime::Network for HandSeed {
    fn name(&self) -> &str {
        "HandSeed"
    }

    fn input(&self) -> [usize; 3] {
        [1, 28, 28]
    }

    fn classes(&self) -> usize {
        10
    }

    fn arch_text(&self) -> &str {
        ""
    }

    fn summary(&self) -> &str {
        "hand-written seed network"
    }

    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }
}
