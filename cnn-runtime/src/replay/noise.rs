//! Uniform noise for the dropouts of a recorded step, in buffers drawn afresh before each
//! step: a replay repeats the random draws it recorded, seeds included, so its dropouts read
//! these instead ([`crate::dropout::forward`] asks [`uniform`]).

use std::cell::RefCell;

use burn::tensor::{Device, Distribution, Tensor};

/// One buffer of uniform noise per dropout call of a step, in call order.
#[derive(Default)]
pub struct Tape {
    draws: Vec<Tensor<1>>,
}

thread_local! {
    /// The tape of the step running on this thread, and the next draw's index.
    static ACTIVE: RefCell<Option<(Tape, usize)>> = const { RefCell::new(None) };
}

impl Tape {
    /// New noise in every buffer, drawn in place; false when a buffer had to move.
    pub fn redraw(&mut self) -> bool {
        let mut in_place = true;
        for draw in &mut self.draws {
            let n = draw.dims()[0];
            let fresh = Tensor::<1>::random([n], Distribution::Default, &draw.device());
            in_place &= draw.can_mut();
            draw.inplace(|draw| draw.slice_assign(0..n, fresh));
        }
        in_place
    }

    /// Runs `step` with this tape serving its dropouts.
    pub fn serve<T>(&mut self, step: impl FnOnce() -> T) -> T {
        ACTIVE.with(|active| *active.borrow_mut() = Some((std::mem::take(self), 0)));
        let result = step();
        if let Some((tape, _)) = ACTIVE.with(|active| active.borrow_mut().take()) {
            *self = tape;
        }
        result
    }
}

/// Whether a tape serves this thread's dropouts.
pub fn is_served() -> bool {
    ACTIVE.with(|active| active.borrow().is_some())
}

/// Noise uniform in `[0, 1)` of `shape` for the next dropout of the step being served, or
/// `None` when no tape serves this thread (its dropouts draw their own masks).
pub fn uniform<const D: usize>(shape: [usize; D], device: &Device) -> Option<Tensor<D>> {
    ACTIVE.with(|active| {
        let mut active = active.borrow_mut();
        let (tape, next) = active.as_mut()?;
        let n: usize = shape.iter().product();
        if tape.draws.get(*next).is_none_or(|d| d.dims() != [n]) {
            let draw = Tensor::<1>::random([n], Distribution::Default, device);
            tape.draws.truncate(*next);
            tape.draws.push(draw);
        }
        let draw = tape.draws[*next].clone();
        *next += 1;
        Some(draw.reshape(shape))
    })
}
