//! [`relocate`]: move a run of elements within one slice; on bare-metal targets using only
//! non-overlapping copies.
//!
//! Why not always `copy_within`: it lowers to `memmove`, and on Cortex-M the `memmove` that
//! `compiler_builtins` links is about 1.6 KB of flash, more than the rest of the receive
//! buffer and environ storage code together. Copying gap-sized chunks with `copy_from_slice`
//! (`memcpy`, which every firmware links anyway) keeps it out of the binary. The price is one
//! copy call per gap-sized chunk: a handful for the usual moves (a consumed request, a removed
//! entry, a slot), but one per byte when a long run slides by a single byte (a value grown by
//! one byte early in a full arena). Hosts have `memmove` linked anyway and keep
//! `copy_within`; the chunked path is chosen for `target_os = "none"` and tested everywhere.

/// Move `buf[src..src + len]` to `buf[dst..dst + len]`; the two ranges may overlap. As with
/// `copy_within`, only the destination is written.
///
/// # Panics
/// When either range is out of bounds (as `copy_within` does); callers pass ranges of their
/// own bookkeeping.
pub(crate) fn relocate<T: Copy>(buf: &mut [T], src: usize, dst: usize, len: usize) {
    if cfg!(target_os = "none") {
        relocate_chunked(buf, src, dst, len);
    } else {
        buf.copy_within(src..src + len, dst);
    }
}

/// [`relocate`] with `copy_from_slice` on non-overlapping chunks only.
fn relocate_chunked<T: Copy>(buf: &mut [T], src: usize, dst: usize, len: usize) {
    if src == dst || len == 0 {
        return;
    }
    if dst < src {
        // Towards the front: copy chunks front to back; each chunk's target ends at or before
        // its source starts.
        let gap = src - dst;
        let mut done = 0;
        while done < len {
            let n = gap.min(len - done);
            let (front, back) = buf.split_at_mut(src + done);
            front[dst + done..dst + done + n].copy_from_slice(&back[..n]);
            done += n;
        }
    } else {
        // Towards the back: copy chunks back to front; each chunk's target starts at or after
        // its source ends.
        let gap = dst - src;
        let mut left = len;
        while left > 0 {
            let n = gap.min(left);
            let from = src + left - n;
            let (front, back) = buf.split_at_mut(dst + left - n);
            back[..n].copy_from_slice(&front[from..from + n]);
            left -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{relocate, relocate_chunked};
    use proptest::prelude::*;
    use std::vec::Vec;

    proptest! {
        /// Agrees with `copy_within` on every in-bounds move, overlapping or not. (Not under
        /// miri: too slow there, and proptest's file access is refused; see bench/miri.sh.)
        #[test]
        #[cfg_attr(miri, ignore)]
        fn agrees_with_copy_within(
            (size, a, b, len) in (0usize..64).prop_flat_map(|size| (Just(size), 0..=size))
                .prop_flat_map(|(size, len)| (Just(size), 0..=size - len, 0..=size - len, Just(len))),
        ) {
            let original: Vec<u8> = (0..size as u8).collect();
            let mut ours = original.clone();
            let mut std = original.clone();
            relocate_chunked(&mut ours, a, b, len);
            std.copy_within(a..a + len, b);
            prop_assert_eq!(&ours[b..b + len], &original[a..a + len]);
            // Only the destination is written, as with copy_within.
            prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn slides_by_one_element_in_both_directions() {
        for f in [relocate::<i32>, relocate_chunked::<i32>] {
            let mut v = [1, 2, 3, 4, 5];
            f(&mut v, 1, 0, 4);
            assert_eq!(v, [2, 3, 4, 5, 5]);
            let mut v = [1, 2, 3, 4, 5];
            f(&mut v, 0, 1, 4);
            assert_eq!(v, [1, 1, 2, 3, 4]);
        }
    }
}
