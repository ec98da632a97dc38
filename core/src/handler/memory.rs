//! [`Memory`]: every byte a handler needs per request, supplied by the caller.
//!
//! A handler needs three things besides the transport: room for the environ, an output
//! staging buffer (which also holds the response head from start_response until it is sent),
//! and (for HTTP connections) a receive buffer.
//! They come from the caller so that an embedded user can put them in a `static`, on the
//! stack or in a connection pool, and so that memory use is fixed and visible:
//! [`MemoryBuf`] bundles them in one value whose size is its type's size.

use crate::storage::Slot;

/// Borrowed per-request memory for a handler. See the [handler module docs](crate::handler).
pub struct Memory<'s> {
    /// Arena for environ keys and values.
    pub environ_bytes: &'s mut [u8],
    /// One slot per environ variable.
    pub environ_slots: &'s mut [Slot],
    /// Output staging buffer: start_response writes the response head here (so the whole
    /// head, status line and headers, must fit it), and small bodies are coalesced behind it
    /// so a small response leaves in one write.
    pub output: &'s mut [u8],
}

/// Fixed memory for a handler, sized by const parameters (defaults suit a typical request:
/// 2 KiB of environ in 64 variables, 2 KiB of output staging).
///
/// ```
/// use wsgiref_core::handler::MemoryBuf;
/// let mut buf: MemoryBuf = MemoryBuf::new();
/// let memory = buf.memory();
/// assert_eq!(memory.output.len(), 2048);
/// ```
pub struct MemoryBuf<const ENV: usize = 2048, const ENV_SLOTS: usize = 64, const OUT: usize = 2048>
{
    environ_bytes: [u8; ENV],
    environ_slots: [Slot; ENV_SLOTS],
    output: [u8; OUT],
}

impl<const ENV: usize, const ENV_SLOTS: usize, const OUT: usize> MemoryBuf<ENV, ENV_SLOTS, OUT> {
    /// Zeroed memory; `const` so it can initialise a `static`.
    pub const fn new() -> Self {
        MemoryBuf {
            environ_bytes: [0; ENV],
            environ_slots: [Slot::EMPTY; ENV_SLOTS],
            output: [0; OUT],
        }
    }

    /// Borrow it as [`Memory`].
    pub fn memory(&mut self) -> Memory<'_> {
        Memory {
            environ_bytes: &mut self.environ_bytes,
            environ_slots: &mut self.environ_slots,
            output: &mut self.output,
        }
    }
}

impl<const ENV: usize, const ENV_SLOTS: usize, const OUT: usize> Default
    for MemoryBuf<ENV, ENV_SLOTS, OUT>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Heap-allocated handler memory of chosen sizes (feature `alloc`), for servers that size
/// their buffers at run time.
#[cfg(feature = "alloc")]
pub struct OwnedMemory {
    environ_bytes: alloc::vec::Vec<u8>,
    environ_slots: alloc::vec::Vec<Slot>,
    output: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl OwnedMemory {
    /// Allocate: `environ` bytes in up to `environ_slots` variables, `output` bytes of
    /// staging (the most a response head may take).
    pub fn new(environ: usize, environ_slots: usize, output: usize) -> Self {
        use alloc::vec;
        OwnedMemory {
            environ_bytes: vec![0; environ],
            environ_slots: vec![Slot::EMPTY; environ_slots],
            output: vec![0; output],
        }
    }

    /// Borrow it as [`Memory`].
    pub fn memory(&mut self) -> Memory<'_> {
        Memory {
            environ_bytes: &mut self.environ_bytes,
            environ_slots: &mut self.environ_slots,
            output: &mut self.output,
        }
    }
}

#[cfg(feature = "alloc")]
impl Default for OwnedMemory {
    /// 16 KiB of environ in 256 variables, 16 KiB of output.
    fn default() -> Self {
        OwnedMemory::new(16 * 1024, 256, 16 * 1024)
    }
}
