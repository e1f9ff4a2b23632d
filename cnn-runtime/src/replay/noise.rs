//! Uniform noise for the dropouts of a recorded step, in one buffer drawn afresh before each
//! step: a replay repeats the random draws it recorded, seeds included, so its dropouts read
//! slices of this buffer instead ([`crate::dropout::forward`] asks [`uniform`]). One buffer
//! for all of them keeps the host's work before a replay at one draw and one copy.

use std::cell::RefCell;

use burn::tensor::{Device, Distribution, Tensor};

/// The noise of a step's dropout calls, back to back in call order.
#[derive(Default)]
pub struct Tape {
    /// Each call's element count, as the last step served made them.
    sizes: Vec<usize>,
    /// All of them, once `sizes` is known; `None` after they changed.
    noise: Option<Tensor<1>>,
    device: Option<Device>,
}

thread_local! {
    /// The tape of the step running on this thread, and the next call's index.
    static ACTIVE: RefCell<Option<(Tape, usize)>> = const { RefCell::new(None) };
}

impl Tape {
    /// New noise for every call, drawn into the buffer in place; false when it had to move.
    pub fn redraw(&mut self) -> bool {
        let total: usize = self.sizes.iter().sum();
        let Some(device) = self.device.as_ref().filter(|_| total > 0) else {
            return true;
        };
        let fresh = Tensor::<1>::random([total], Distribution::Default, device);
        match &mut self.noise {
            Some(noise) => super::overwrite(noise, fresh),
            None => {
                self.noise = Some(fresh);
                true
            }
        }
    }

    /// Runs `step` with this tape serving its dropouts.
    pub fn serve<T>(&mut self, step: impl FnOnce() -> T) -> T {
        ACTIVE.with(|active| *active.borrow_mut() = Some((std::mem::take(self), 0)));
        let result = step();
        if let Some((mut tape, calls)) = ACTIVE.with(|active| active.borrow_mut().take()) {
            if calls != tape.sizes.len() {
                tape.sizes.truncate(calls);
                tape.noise = None;
            }
            *self = tape;
        }
        result
    }

    /// Noise for call `index` of `n` elements: a slice of the buffer when the last step made
    /// the same calls, else a draw of its own (the tape then learns the new sizes).
    fn call(&mut self, index: usize, n: usize, device: &Device) -> Tensor<1> {
        let offset: usize = self.sizes.iter().take(index).sum();
        match &self.noise {
            Some(noise) if self.sizes.get(index) == Some(&n) => {
                noise.clone().slice(offset..offset + n)
            }
            _ => {
                self.sizes.truncate(index);
                self.sizes.push(n);
                self.noise = None;
                self.device = Some(device.clone());
                Tensor::<1>::random([n], Distribution::Default, device)
            }
        }
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
        let draw = tape.call(*next, shape.iter().product(), device);
        *next += 1;
        Some(draw.reshape(shape))
    })
}
