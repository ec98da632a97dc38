//! Stack high-water mark: cortex-m-rt's `paint-stack` feature fills the whole stack region
//! with [`cortex_m_rt::STACK_PAINT_VALUE`] at reset; the deepest word no longer holding it
//! marks the most stack ever used.

/// Bytes of stack used so far (the deepest point reached since reset).
pub fn high_water() -> u32 {
    extern "C" {
        // Provided by cortex-m-rt's link.x: the top of the stack (initial SP) and its lowest
        // address (the end of static RAM).
        static _stack_start: u32;
        static _stack_end: u32;
    }
    // Only the addresses of the linker symbols are taken, never their values.
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `addr` is word aligned and inside the stack region [bottom, top), which is
        // RAM owned by this program; a volatile read keeps the compiler from assuming the
        // painted value.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    (top - addr) as u32
}
