//! The exponential moving average of a network's weights, the weights a trained model
//! predicts with.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

/// EMA: collects a module's float parameters in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().without_autodiff();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// EMA: blends a structurally identical module's parameters into this one's.
struct Blend {
    others: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let other = self.others.next().expect("same structure");
        let decay = self.decay;
        param.map(|ema| {
            // Without autodiff: a forked module keeps its tensors' autodiff association,
            // and every update would then add a node to a graph that is never consumed,
            // slowing each step more than the last (measured: 0.19 → 0.59 s per step of
            // the tiny preset over 600 steps).
            let ema = ema.without_autodiff();
            let shape = ema.dims();
            let other: Tensor<D> = other.reshape(shape);
            ema.mul_scalar(decay) + other.mul_scalar(1.0 - decay)
        })
    }
}

/// ema ← d·ema + (1 − d)·model.
pub fn ema_update<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    ema.map(&mut Blend {
        others: collect.0.into_iter(),
        decay,
    })
}
