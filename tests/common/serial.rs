//! burn seeds a device's random numbers globally: a test binary's tests that draw or train
//! run one at a time, so that each sees the stream its seed gives.

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for the length of a test that draws random numbers.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
