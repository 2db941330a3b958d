//! SHAPR's networks: the image-to-volume generator and the discriminator of its
//! adversarial training, built from their configs.

use burn::nn::conv::{
    Conv2d, Conv2dConfig, Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig,
};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d, PaddingConfig3d,
};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu, sigmoid};

use super::{AdversarialConfig, GROUPS, ShaprConfig};

impl ShaprConfig {
    /// Builds the network with fresh weights on `device`.
    pub fn init(&self, device: &Device) -> Shapr {
        self.validate().expect("invalid SHAPR config");
        let f = self.filters;
        let conv2 = |i: usize, o: usize| ConvBlock2d {
            conv: Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        let conv3 = |i: usize, o: usize| ConvBlock3d {
            conv: Conv3dConfig::new([i, o], [3, 3, 3])
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        let encoder = vec![
            conv2(2, f),
            conv2(f, f),
            conv2(f, 2 * f),
            conv2(2 * f, 2 * f),
            conv2(2 * f, 4 * f),
            conv2(4 * f, 4 * f),
        ];
        let latent = Conv2dConfig::new([4 * f, 1], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device);
        // z grows from 1 to d: log2(d) doublings, the last two also doubling y and x.
        let doublings = self.grid[0].trailing_zeros() as usize;
        let mut decoder = Vec::new();
        let mut ch = 4 * f;
        let mut input = 1;
        for k in 0..doublings {
            let full = k + 2 >= doublings;
            let out = if full { ch / 2 } else { ch };
            let stride = if full { [2, 2, 2] } else { [2, 1, 1] };
            decoder.push(UpBlock {
                up: ConvTranspose3dConfig::new([input, out], stride)
                    .with_stride(stride)
                    .init(device),
                conv: conv3(out, out),
            });
            ch = out;
            input = out;
        }
        let output = Conv3dConfig::new([ch, 1], [1, 1, 1]).init(device);
        Shapr {
            encoder,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            latent,
            decoder,
            output,
        }
    }
}

/// SHAPR's 3D discriminator: three stride-2 convolutions (GroupNorm, leaky ReLU), a
/// global average and a linear layer to one logit per volume ("true shape").
#[derive(Module, Debug)]
pub struct Discriminator {
    convs: Vec<ConvBlock3dStrided>,
    head: Linear,
}

#[derive(Module, Debug)]
struct ConvBlock3dStrided {
    conv: Conv3d,
    norm: GroupNorm,
}

impl AdversarialConfig {
    /// Builds the discriminator with fresh weights on `device`.
    pub fn init(&self, device: &Device) -> Discriminator {
        let f = self.filters;
        let block = |i: usize, o: usize| ConvBlock3dStrided {
            conv: Conv3dConfig::new([i, o], [4, 4, 4])
                .with_stride([2, 2, 2])
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        Discriminator {
            convs: vec![block(1, f), block(f, 2 * f), block(2 * f, 4 * f)],
            head: LinearConfig::new(4 * f, 1).init(device),
        }
    }
}

impl Discriminator {
    /// Logits `[B, 1]` that each volume `[B, 1, D, H, W]` (values in [0, 1]) is a true
    /// shape.
    pub fn forward(&self, volume: Tensor<5>) -> Tensor<2> {
        let mut x = volume;
        for block in &self.convs {
            x = leaky_relu(block.norm.forward(block.conv.forward(x)), 0.2);
        }
        let [b, c, d, h, w] = x.dims();
        let pooled: Tensor<2> = x.reshape([b, c, d * h * w]).mean_dim(2).reshape([b, c]);
        self.head.forward(pooled)
    }
}

/// Convolution, GroupNorm, ReLU on images.
#[derive(Module, Debug)]
struct ConvBlock2d {
    conv: Conv2d,
    norm: GroupNorm,
}

impl ConvBlock2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// Convolution, GroupNorm, ReLU on volumes.
#[derive(Module, Debug)]
struct ConvBlock3d {
    conv: Conv3d,
    norm: GroupNorm,
}

impl ConvBlock3d {
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// A transposed convolution that doubles z (or every axis), then a convolution block.
#[derive(Module, Debug)]
struct UpBlock {
    up: ConvTranspose3d,
    conv: ConvBlock3d,
}

/// The SHAPR network.
#[derive(Module, Debug)]
pub struct Shapr {
    encoder: Vec<ConvBlock2d>,
    pool: MaxPool2d,
    latent: Conv2d,
    decoder: Vec<UpBlock>,
    output: Conv3d,
}

impl Shapr {
    /// Logits `[B, 1, D, H, W]` of the shape from the conditioning image `[B, 2, H, W]`.
    pub fn forward(&self, image: Tensor<4>) -> Tensor<5> {
        let mut x = image;
        for (i, block) in self.encoder.iter().enumerate() {
            x = block.forward(x);
            if i == 1 || i == 3 {
                x = self.pool.forward(x);
            }
        }
        let z = sigmoid(self.latent.forward(x));
        let [b, _, h, w] = z.dims();
        let mut v: Tensor<5> = z.reshape([b, 1, 1, h, w]);
        for block in &self.decoder {
            v = block.conv.forward(block.up.forward(v));
        }
        self.output.forward(v)
    }
}

/// SHAPR's input from DISPR's conditioning `[B, 2, D, H, W]` (the 2D channels repeated
/// along z): its first slice, `[B, 2, H, W]`.
pub fn image_of(conditioning: Tensor<5>) -> Tensor<4> {
    let [b, c, _, h, w] = conditioning.dims();
    conditioning
        .slice([0..b, 0..c, 0..1, 0..h, 0..w])
        .reshape([b, c, h, w])
}
