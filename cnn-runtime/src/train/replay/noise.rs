//! Uniform noise for the dropouts of a recorded step, in one buffer drawn afresh before each
//! step: a replay repeats the random draws it recorded, seeds included, so its dropouts read
//! slices of this buffer instead ([`crate::nn::dropout::forward`] asks [`uniform`]). One buffer
//! for all of them keeps the host's work before a replay at one draw and one copy. Each slice
//! starts on the device's view alignment, so that it is a view and not a copy (burn copies a
//! slice whose start or end is not aligned: one more kernel per dropout).

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
    /// Elements a slice starts on a multiple of ([`crate::backend::view_alignment`]).
    align: usize,
}

thread_local! {
    /// The tape of the step running on this thread, and the next call's index.
    static ACTIVE: RefCell<Option<(Tape, usize)>> = const { RefCell::new(None) };
}

impl Tape {
    /// New noise for every call, drawn into the buffer in place; false when it had to move.
    pub fn redraw(&mut self) -> bool {
        let total = self.offset(self.sizes.len());
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
        let offset = self.offset(index);
        match &self.noise {
            Some(noise) if self.sizes.get(index) == Some(&n) => {
                noise.clone().slice(offset..offset + n)
            }
            _ => {
                self.sizes.truncate(index);
                self.sizes.push(n);
                self.noise = None;
                self.device = Some(device.clone());
                self.align = alignment(device);
                Tensor::<1>::random([n], Distribution::Default, device)
            }
        }
    }

    /// Where call `index`'s noise starts: after the calls before it, on the alignment
    /// (`index` = the number of calls: the buffer's length).
    fn offset(&self, index: usize) -> usize {
        let align = self.align.max(1);
        let ends = self.sizes.iter().take(index);
        ends.fold(0, |start, n| (start + n).next_multiple_of(align))
    }
}

/// `device`'s view alignment in `f32` elements (1 where any offset makes a view).
fn alignment(device: &Device) -> usize {
    let bytes = crate::backend::view_alignment(device).unwrap_or(4);
    (bytes as usize / size_of::<f32>()).max(1)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tape(sizes: &[usize], align: usize) -> Tape {
        Tape {
            sizes: sizes.to_vec(),
            align,
            ..Tape::default()
        }
    }

    /// Each call's noise starts on the alignment, after the call before it ends, and the
    /// buffer ends on the alignment too, so that a slice of a whole multiple is a view.
    #[test]
    fn calls_start_on_the_alignment_without_overlapping() {
        let tape = tape(&[5, 64, 3, 32], 16);
        let starts: Vec<usize> = (0..=4).map(|i| tape.offset(i)).collect();
        assert_eq!(starts, [0, 16, 80, 96, 128]);
    }

    #[test]
    fn without_an_alignment_calls_lie_back_to_back() {
        for align in [0, 1] {
            let tape = tape(&[5, 64, 3], align);
            let starts: Vec<usize> = (0..=3).map(|i| tape.offset(i)).collect();
            assert_eq!(starts, [0, 5, 69, 72]);
        }
    }
}
