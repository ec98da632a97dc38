//! Output through semihosting without `core::fmt` (which alone costs several KiB of flash),
//! and the semihosting exit that QEMU turns into its process exit code.

use cortex_m_semihosting::{debug, hio};

/// Write raw bytes to the host's stdout. Output is best effort: a host without semihosting
/// stdout has nowhere to report the failure to.
pub fn bytes(b: &[u8]) {
    if let Ok(mut stdout) = hio::hstdout() {
        let _ = stdout.write_all(b);
    }
}

/// Write `n` in decimal.
pub fn number(mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    bytes(&digits[i..]);
}

/// `label` then `n` then a newline.
pub fn figure(label: &[u8], n: u32) {
    bytes(label);
    number(n);
    bytes(b"\n");
}

/// End the QEMU run: exit code 0 when `ok`, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Without a semihosting host `exit` returns; park the core.
    loop {
        cortex_m::asm::wfi();
    }
}
