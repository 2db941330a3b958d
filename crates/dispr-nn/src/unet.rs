//! The conditional 3D U-Net of DISPR (the guided-diffusion / improved-DDPM U-Net made
//! three-dimensional): residual blocks with a timestep embedding, self-attention at chosen
//! downsampling rates and in the middle, per-level down/up-sampling strides (the `paper`
//! preset never downsamples z). Built from a [`UNetConfig`], which is what checkpoints
//! store.

use burn::module::Initializer;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{
    Dropout, DropoutConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig3d,
};
use burn::prelude::*;
use burn::tensor::activation::{silu, softmax};
use serde::{Deserialize, Serialize};

/// Every architectural choice of the U-Net. Serialized into checkpoints, so a model is
/// always rebuilt exactly as it was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Input channels: the conditioning channels plus the noisy volume (3 for DISPR).
    pub in_channels: usize,
    /// Output channels: 1 (ε) or 2 (ε and the learned-variance interpolation v).
    pub out_channels: usize,
    /// Channels of the first level.
    pub base_channels: usize,
    /// Channels of level i = `base_channels · channel_mult[i]`.
    pub channel_mult: Vec<usize>,
    /// Residual blocks per level on the way down (one more on the way up).
    pub res_blocks: usize,
    /// Downsampling rates (1 = full resolution, 2 after one downsampling, …) whose
    /// blocks get self-attention; the middle block always has it.
    pub attention_rates: Vec<usize>,
    /// Attention heads.
    pub heads: usize,
    /// GroupNorm groups (must divide every level's channels).
    pub groups: usize,
    /// (z, y, x) stride of the downsampling after level i (one entry per level but the
    /// last); upsampling mirrors it.
    pub strides: Vec<[usize; 3]>,
    /// Dropout inside residual blocks.
    pub dropout: f64,
}

impl UNetConfig {
    /// Channels of each level.
    pub fn level_channels(&self) -> Vec<usize> {
        self.channel_mult
            .iter()
            .map(|m| m * self.base_channels)
            .collect()
    }

    /// Checks that the numbers fit together; the message says which does not.
    pub fn validate(&self) -> crate::Result<()> {
        if self.channel_mult.is_empty() {
            return Err("channel_mult is empty".into());
        }
        if self.strides.len() + 1 != self.channel_mult.len() {
            return Err(format!(
                "{} levels need {} downsampling strides, got {}",
                self.channel_mult.len(),
                self.channel_mult.len() - 1,
                self.strides.len()
            )
            .into());
        }
        if !(1..=2).contains(&self.out_channels) {
            return Err("out_channels must be 1 or 2".into());
        }
        for c in self.level_channels() {
            if self.groups == 0 || c % self.groups != 0 {
                return Err(format!(
                    "{} GroupNorm groups do not divide {c} channels",
                    self.groups
                )
                .into());
            }
            if self.heads == 0 || c % self.heads != 0 {
                return Err(format!("{} heads do not divide {c} channels", self.heads).into());
            }
        }
        if self
            .strides
            .iter()
            .flatten()
            .any(|&s| !(1..=2).contains(&s))
        {
            return Err("strides must be 1 or 2".into());
        }
        Ok(())
    }

    /// The smallest grid edge the network accepts along each axis (every downsampling must
    /// divide evenly).
    pub fn grid_multiple(&self) -> [usize; 3] {
        let mut m = [1; 3];
        for s in &self.strides {
            for a in 0..3 {
                m[a] *= s[a];
            }
        }
        m
    }

    /// Builds the network with fresh weights on `device`.
    pub fn init(&self, device: &Device) -> UNet {
        self.validate().expect("invalid U-Net config");
        let channels = self.level_channels();
        let emb = self.base_channels * 4;
        let res = |i: usize, o: usize| ResBlock::new(i, o, emb, self.groups, self.dropout, device);
        let attn = |c: usize| AttentionBlock::new(c, self.heads, self.groups, device);

        let mut down = Vec::new();
        let mut skip_channels = vec![self.base_channels];
        let mut ch = self.base_channels;
        let mut rate = 1;
        for (level, &out) in channels.iter().enumerate() {
            for _ in 0..self.res_blocks {
                let attention = self.attention_rates.contains(&rate).then(|| attn(out));
                down.push(DownStage {
                    res: Some(res(ch, out)),
                    attention,
                    downsample: None,
                });
                ch = out;
                skip_channels.push(ch);
            }
            if level + 1 < channels.len() {
                down.push(DownStage {
                    res: None,
                    attention: None,
                    downsample: Some(conv3(ch, ch, self.strides[level], device, false)),
                });
                skip_channels.push(ch);
                rate *= 2;
            }
        }
        let middle = (res(ch, ch), attn(ch), res(ch, ch));

        let mut up = Vec::new();
        for (level, &out) in channels.iter().enumerate().rev() {
            for block in 0..=self.res_blocks {
                let skip = skip_channels.pop().expect("one skip per down stage");
                let attention = self.attention_rates.contains(&rate).then(|| attn(out));
                let upsample = (level > 0 && block == self.res_blocks).then(|| Upsample {
                    conv: conv3(out, out, [1, 1, 1], device, false),
                    factor: self.strides[level - 1],
                });
                up.push(UpStage {
                    res: res(ch + skip, out),
                    attention,
                    upsample,
                });
                ch = out;
            }
            if level > 0 {
                rate /= 2;
            }
        }

        UNet {
            time_in: LinearConfig::new(self.base_channels, emb).init(device),
            time_out: LinearConfig::new(emb, emb).init(device),
            input: conv3(
                self.in_channels,
                self.base_channels,
                [1, 1, 1],
                device,
                false,
            ),
            down,
            middle_in: middle.0,
            middle_attention: middle.1,
            middle_out: middle.2,
            up,
            out_norm: GroupNormConfig::new(self.groups, ch).init(device),
            output: conv3(ch, self.out_channels, [1, 1, 1], device, true),
            base_channels: self.base_channels,
        }
    }
}

/// A 3×3×3 convolution with padding 1 and the given stride; `zero` starts it at zero
/// (the last layer of each residual branch and of the network, as the reference).
fn conv3(inp: usize, out: usize, stride: [usize; 3], device: &Device, zero: bool) -> Conv3d {
    let mut config = Conv3dConfig::new([inp, out], [3, 3, 3])
        .with_stride(stride)
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1));
    if zero {
        config = config.with_initializer(Initializer::Zeros);
    }
    config.init(device)
}

/// A 1×1×1 convolution (channel mixing).
fn conv1(inp: usize, out: usize, device: &Device, zero: bool) -> Conv3d {
    let mut config = Conv3dConfig::new([inp, out], [1, 1, 1]);
    if zero {
        config = config.with_initializer(Initializer::Zeros);
    }
    config.init(device)
}

/// The DISPR U-Net: ε (and v) from the noisy volume, its conditioning and the timestep.
#[derive(Module, Debug)]
pub struct UNet {
    time_in: Linear,
    time_out: Linear,
    input: Conv3d,
    down: Vec<DownStage>,
    middle_in: ResBlock,
    middle_attention: AttentionBlock,
    middle_out: ResBlock,
    up: Vec<UpStage>,
    out_norm: GroupNorm,
    output: Conv3d,
    #[module(skip)]
    base_channels: usize,
}

/// One stage on the way down: a residual block (with optional attention) or a
/// downsampling convolution.
#[derive(Module, Debug)]
struct DownStage {
    res: Option<ResBlock>,
    attention: Option<AttentionBlock>,
    downsample: Option<Conv3d>,
}

/// One stage on the way up: a residual block over the concatenated skip, optional
/// attention, optional upsampling.
#[derive(Module, Debug)]
struct UpStage {
    res: ResBlock,
    attention: Option<AttentionBlock>,
    upsample: Option<Upsample>,
}

/// Nearest-neighbour upsampling by a per-axis factor, then a 3×3×3 convolution.
#[derive(Module, Debug)]
struct Upsample {
    conv: Conv3d,
    #[module(skip)]
    factor: [usize; 3],
}

impl Upsample {
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.conv.forward(upsample_nearest(x, self.factor))
    }
}

/// Repeats every voxel `factor[a]` times along axis a of a `[B, C, D, H, W]` tensor.
pub fn upsample_nearest(mut x: Tensor<5>, factor: [usize; 3]) -> Tensor<5> {
    for (axis, &f) in factor.iter().enumerate() {
        if f == 1 {
            continue;
        }
        let dim = axis + 2;
        let mut shape = x.dims();
        let expanded: Tensor<6> = x.unsqueeze_dim::<6>(dim + 1).repeat_dim(dim + 1, f);
        shape[dim] *= f;
        x = expanded.reshape(shape);
    }
    x
}

/// Residual block: GroupNorm → SiLU → conv, plus the projected timestep embedding,
/// GroupNorm → SiLU → dropout → conv (zero-initialised), plus a 1×1 skip projection
/// when the channel count changes.
#[derive(Module, Debug)]
struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv3d,
    emb: Linear,
    norm2: GroupNorm,
    dropout: Dropout,
    conv2: Conv3d,
    skip: Option<Conv3d>,
}

impl ResBlock {
    fn new(
        inp: usize,
        out: usize,
        emb: usize,
        groups: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            norm1: GroupNormConfig::new(groups, inp).init(device),
            conv1: conv3(inp, out, [1, 1, 1], device, false),
            emb: LinearConfig::new(emb, out).init(device),
            norm2: GroupNormConfig::new(groups, out).init(device),
            dropout: DropoutConfig::new(dropout).init(),
            conv2: conv3(out, out, [1, 1, 1], device, true),
            skip: (inp != out).then(|| conv1(inp, out, device, false)),
        }
    }

    fn forward(&self, x: Tensor<5>, emb: Tensor<2>) -> Tensor<5> {
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let [b, c] = [h.dims()[0], h.dims()[1]];
        let e = self.emb.forward(silu(emb)).reshape([b, c, 1, 1, 1]);
        let h = h + e;
        let h = self
            .conv2
            .forward(self.dropout.forward(silu(self.norm2.forward(h))));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        skip + h
    }
}

/// Multi-head self-attention over all voxels of a level (QKV by a 1×1 convolution,
/// zero-initialised output projection, residual).
#[derive(Module, Debug)]
struct AttentionBlock {
    norm: GroupNorm,
    qkv: Conv3d,
    proj: Conv3d,
    #[module(skip)]
    heads: usize,
}

impl AttentionBlock {
    fn new(channels: usize, heads: usize, groups: usize, device: &Device) -> Self {
        Self {
            norm: GroupNormConfig::new(groups, channels).init(device),
            qkv: conv1(channels, 3 * channels, device, false),
            proj: conv1(channels, channels, device, true),
            heads,
        }
    }

    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, c, d, h, w] = x.dims();
        let n = d * h * w;
        let heads = self.heads;
        let ch = c / heads;
        let qkv: Tensor<3> =
            self.qkv
                .forward(self.norm.forward(x.clone()))
                .reshape([b * heads, 3 * ch, n]);
        let q = qkv.clone().narrow(1, 0, ch);
        let k = qkv.clone().narrow(1, ch, ch);
        let v = qkv.narrow(1, 2 * ch, ch);
        let scale = 1.0 / (ch as f64).sqrt();
        // [B·h, N, N]: weights[i, j] = softmax_j(q_i · k_j / √ch).
        let weights = softmax(q.swap_dims(1, 2).matmul(k).mul_scalar(scale), 2);
        let out = v.matmul(weights.swap_dims(1, 2)).reshape([b, c, d, h, w]);
        x + self.proj.forward(out)
    }
}

impl UNet {
    /// The network output `[B, out_channels, D, H, W]` for input `[B, in_channels, D, H, W]`
    /// and timesteps `t` (one per batch element, original schedule indices).
    pub fn forward(&self, x: Tensor<5>, t: &[usize]) -> Tensor<5> {
        let device = x.device();
        let emb = timestep_embedding(t, self.base_channels, &device);
        let emb = self.time_out.forward(silu(self.time_in.forward(emb)));

        let mut h = self.input.forward(x);
        let mut skips = vec![h.clone()];
        for stage in &self.down {
            if let Some(conv) = &stage.downsample {
                h = conv.forward(h);
            }
            if let Some(res) = &stage.res {
                h = res.forward(h, emb.clone());
            }
            if let Some(attention) = &stage.attention {
                h = attention.forward(h);
            }
            skips.push(h.clone());
        }
        h = self.middle_in.forward(h, emb.clone());
        h = self.middle_attention.forward(h);
        h = self.middle_out.forward(h, emb.clone());
        for stage in &self.up {
            let skip = skips.pop().expect("one skip per down stage");
            h = stage
                .res
                .forward(Tensor::cat(vec![h, skip], 1), emb.clone());
            if let Some(attention) = &stage.attention {
                h = attention.forward(h);
            }
            if let Some(up) = &stage.upsample {
                h = up.forward(h);
            }
        }
        self.output.forward(silu(self.out_norm.forward(h)))
    }
}

/// Sinusoidal embedding of the timesteps (as the reference: half cosines, half sines,
/// frequencies 10000^(−i/half)), `[B, dim]`.
pub fn timestep_embedding(t: &[usize], dim: usize, device: &Device) -> Tensor<2> {
    let half = dim / 2;
    let mut data = Vec::with_capacity(t.len() * dim);
    for &step in t {
        let mut row = vec![0f32; dim];
        for i in 0..half {
            let freq = libm::exp(-libm::log(10_000.0) * i as f64 / half as f64);
            let arg = step as f64 * freq;
            row[i] = libm::cos(arg) as f32;
            row[half + i] = libm::sin(arg) as f32;
        }
        data.extend(row);
    }
    Tensor::from_data(TensorData::new(data, [t.len(), dim]), device)
}
