//! Memory behind [`Environ`](crate::environ::Environ) and
//! [`Headers`](crate::headers::Headers): an ordered list of name/value byte strings kept in
//! one byte arena.
//!
//! Two kinds of backing exist and behave the same:
//!
//! * **fixed**: a byte slice and a slot slice that the caller owns (a `static`, the stack, a
//!   connection struct). Nothing is allocated; running out of room is a [`CapacityError`].
//! * **growable** (feature `alloc`): `Vec`s that grow on demand, up to limits the caller sets,
//!   so a hostile peer still cannot make memory unbounded.
//!
//! Entries keep their insertion order (Python dicts and header lists both do). Removing an entry
//! compacts the arena, so a long-lived table never leaks bytes to churn.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::bytes::copy_short;
use crate::relocate::relocate;

/// Where one name/value pair lives inside the arena.
///
/// Users only meet this type to size fixed storage (`[Slot::EMPTY; N]`); its fields are private
/// because an out-of-range span would be a bug, not a state a caller should be able to build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    start: u32,
    name_len: u32,
    value_len: u32,
}

impl Slot {
    /// An unused slot, for initialising fixed storage: `[Slot::EMPTY; 32]`.
    pub const EMPTY: Slot = Slot {
        start: 0,
        name_len: 0,
        value_len: 0,
    };

    fn len(&self) -> usize {
        self.name_len as usize + self.value_len as usize
    }
}

/// The arena is full: either its bytes or its slots ran out.
///
/// Returned instead of panicking or allocating past a limit. A server maps it to `431 Request
/// Header Fields Too Large` while building an environ from a request, or to a 500 while an
/// application sets response headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapacityError {
    /// Which resource ran out.
    pub kind: CapacityKind,
    /// How many bytes (or slots) the failed operation needed in total.
    pub needed: usize,
    /// How many bytes (or slots) the storage can hold at most.
    pub capacity: usize,
}

/// The resource a [`CapacityError`] ran out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CapacityKind {
    /// The byte arena that holds names and values.
    Bytes,
    /// The slot list: one slot per entry.
    Slots,
}

impl core::fmt::Display for CapacityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.kind {
            CapacityKind::Bytes => "bytes",
            CapacityKind::Slots => "entries",
        };
        write!(
            f,
            "storage full: needs {} {what}, capacity is {}",
            self.needed, self.capacity
        )
    }
}

impl core::error::Error for CapacityError {}

/// A backing store: caller-owned slice, or (with `alloc`) a growable vector with a hard limit.
#[derive(Debug)]
enum Store<'a, T> {
    Fixed(&'a mut [T]),
    #[cfg(feature = "alloc")]
    Grow {
        vec: Vec<T>,
        limit: usize,
    },
}

impl<T: Copy + Default> Store<'_, T> {
    fn capacity_limit(&self) -> usize {
        match self {
            Store::Fixed(s) => s.len(),
            #[cfg(feature = "alloc")]
            Store::Grow { limit, .. } => *limit,
        }
    }

    /// Make sure `needed` elements fit; grows a vector (never past its limit).
    fn ensure(&mut self, needed: usize, kind: CapacityKind) -> Result<(), CapacityError> {
        let capacity = self.capacity_limit();
        if needed > capacity {
            return Err(CapacityError {
                kind,
                needed,
                capacity,
            });
        }
        #[cfg(feature = "alloc")]
        if let Store::Grow { vec, .. } = self {
            if vec.len() < needed {
                let target = needed.max(vec.len() * 2).min(capacity);
                vec.resize(target, T::default());
            }
        }
        Ok(())
    }

    fn as_slice(&self) -> &[T] {
        match self {
            Store::Fixed(s) => s,
            #[cfg(feature = "alloc")]
            Store::Grow { vec, .. } => vec,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Store::Fixed(s) => s,
            #[cfg(feature = "alloc")]
            Store::Grow { vec, .. } => vec,
        }
    }

    /// Lend the storage to a shorter-lived store: a reborrow of a fixed slice, or the moved-out
    /// vector of a growable one (see [`Table::lend`]).
    fn lend(&mut self) -> Store<'_, T> {
        match self {
            Store::Fixed(s) => Store::Fixed(s),
            #[cfg(feature = "alloc")]
            Store::Grow { vec, limit } => Store::Grow {
                vec: core::mem::take(vec),
                limit: *limit,
            },
        }
    }

    /// Put back what [`lend`](Self::lend) moved out (nothing, for a fixed slice).
    #[cfg(feature = "alloc")]
    fn take_back(&mut self, back: Vec<T>) {
        if let Store::Grow { vec, .. } = self {
            *vec = back;
        }
    }
}

/// An ordered list of `(name, value)` byte strings in one arena.
#[derive(Debug)]
pub(crate) struct Table<'a> {
    bytes: Store<'a, u8>,
    used: usize,
    slots: Store<'a, Slot>,
    count: usize,
    /// A 64-bit Bloom filter over the names stored (two bits per name, see [`name_bit`]): a
    /// clear bit proves a name absent without a scan. Removals leave their bit set (a false
    /// "maybe", never a false "no"); `clear` resets it.
    ///
    /// Why: a server sets ~20 variables per request, and each `set` first asks whether the key
    /// exists. With linear scans that was quadratic and cost more than parsing the request.
    names_seen: u64,
}

/// The Bloom-filter bits of a name: two of 64, from its length and its first and last bytes,
/// which tell CGI variable names apart well (`SERVER_NAME`/`SERVER_PORT` differ in
/// length-and-last, `HTTP_*` keys in their last byte and length), mixed by one multiplication
/// (Fibonacci hashing: the top bits of the product depend on every input bit). ASCII case is
/// folded, so names differing only in case share their bits: a false "maybe", never a false
/// "no".
///
/// Measured with `bench/instructions.sh` (typical request): a sum of the three inputs into one
/// bit, 12,534 instructions per request; the product into one bit, 12,290; into two bits,
/// 12,185. (Two of 128 bits cost more in 128-bit shifts than the fewer scans saved: 12,947.)
///
/// A `const fn`, so the bits of the names the crate sets itself are computed at compile time
/// (`environ::KnownKey`).
pub(crate) const fn name_bit(name: &[u8]) -> u64 {
    let (first, last) = match name {
        [] => (0, 0),
        [f, .., l] => (*f | 0x20, *l | 0x20),
        [f] => (*f | 0x20, *f | 0x20),
    };
    let key = (name.len() as u32) | (first as u32) << 8 | (last as u32) << 16;
    let h = key.wrapping_mul(0x9E37_79B1);
    (1u64 << (h >> 26)) | (1u64 << ((h >> 20) & 63))
}

impl<'a> Table<'a> {
    /// A table over caller-owned memory.
    pub(crate) fn fixed(bytes: &'a mut [u8], slots: &'a mut [Slot]) -> Self {
        Table {
            bytes: Store::Fixed(bytes),
            used: 0,
            slots: Store::Fixed(slots),
            count: 0,
            names_seen: 0,
        }
    }

    /// A growable table that never holds more than the given limits.
    #[cfg(feature = "alloc")]
    pub(crate) fn growable(byte_limit: usize, slot_limit: usize) -> Table<'static> {
        Table {
            bytes: Store::Grow {
                vec: Vec::new(),
                limit: byte_limit,
            },
            used: 0,
            slots: Store::Grow {
                vec: Vec::new(),
                limit: slot_limit,
            },
            count: 0,
            names_seen: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes of names and values currently stored.
    pub(crate) fn bytes_used(&self) -> usize {
        self.used
    }

    /// Fail unless a table of `bytes` bytes and `slots` entries fits in this storage.
    pub(crate) fn check_room(&self, bytes: usize, slots: usize) -> Result<(), CapacityError> {
        for (needed, capacity, kind) in [
            (bytes, self.bytes.capacity_limit(), CapacityKind::Bytes),
            (slots, self.slots.capacity_limit(), CapacityKind::Slots),
        ] {
            if needed > capacity {
                return Err(CapacityError {
                    kind,
                    needed,
                    capacity,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
        self.names_seen = 0;
    }

    fn slot(&self, index: usize) -> Slot {
        self.slots.as_slice()[..self.count][index]
    }

    pub(crate) fn name(&self, index: usize) -> &[u8] {
        let s = self.slot(index);
        let start = s.start as usize;
        &self.bytes.as_slice()[start..start + s.name_len as usize]
    }

    pub(crate) fn value(&self, index: usize) -> &[u8] {
        let s = self.slot(index);
        let start = s.start as usize + s.name_len as usize;
        &self.bytes.as_slice()[start..start + s.value_len as usize]
    }

    /// The Bloom-filter bits of every name stored so far (see [`name_bit`]): a name whose
    /// bits are not all in here is certainly absent.
    pub(crate) fn names_seen(&self) -> u64 {
        self.names_seen
    }

    /// The first index whose name satisfies `eq`.
    pub(crate) fn position(&self, mut eq: impl FnMut(&[u8]) -> bool) -> Option<usize> {
        (0..self.count).find(|&i| eq(self.name(i)))
    }

    /// The first index whose name is exactly `name`: O(1) when the Bloom filter rules the
    /// name out (the common case for a new key), else a scan that compares lengths before
    /// bytes.
    pub(crate) fn find(&self, name: &[u8]) -> Option<usize> {
        self.find_bits(name, name_bit(name))
    }

    /// [`find`](Self::find) with the name's [`name_bit`] already computed.
    pub(crate) fn find_bits(&self, name: &[u8], bits: u64) -> Option<usize> {
        if self.names_seen & bits != bits {
            return None;
        }
        let arena = self.bytes.as_slice();
        self.slots.as_slice()[..self.count].iter().position(|s| {
            let start = s.start as usize;
            s.name_len as usize == name.len() && arena.get(start..start + name.len()) == Some(name)
        })
    }

    /// Append an entry whose value is written by `fill` into exactly `value_len` bytes.
    ///
    /// Capacity is checked before anything changes, so a failed push leaves the table as it
    /// was.
    ///
    /// `bits` is the name's [`name_bit`] (callers with a constant name have it already).
    pub(crate) fn push_with(
        &mut self,
        name: &[u8],
        bits: u64,
        value_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<usize, CapacityError> {
        let total = name.len() + value_len;
        let needed = self.used + total;
        // The per-request case: the backing already has room (a fixed slice with space left,
        // or a vector grown earlier), and one comparison per store says so. Growing and
        // refusing are out of line.
        if needed > self.bytes.as_slice().len()
            || self.count >= self.slots.as_slice().len()
            || needed > u32::MAX as usize
        {
            self.make_room(needed, self.count + 1)?;
        }
        let start = self.used;
        let arena = self.bytes.as_mut_slice();
        copy_short(&mut arena[start..start + name.len()], name);
        fill(&mut arena[start + name.len()..needed]);
        self.used = needed;
        let index = self.count;
        self.slots.as_mut_slice()[index] = Slot {
            start: start as u32,
            name_len: name.len() as u32,
            value_len: value_len as u32,
        };
        self.count += 1;
        self.names_seen |= bits;
        Ok(index)
    }

    /// Room for `bytes` arena bytes and `slots` entries: grows a vector (within its limit) or
    /// says which resource ran out, slots before bytes. Offsets are `u32`, so an arena past
    /// 4 GiB is refused too.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, bytes: usize, slots: usize) -> Result<(), CapacityError> {
        if u32::try_from(bytes).is_err() {
            return Err(CapacityError {
                kind: CapacityKind::Bytes,
                needed: bytes,
                capacity: u32::MAX as usize,
            });
        }
        self.slots.ensure(slots, CapacityKind::Slots)?;
        self.bytes.ensure(bytes, CapacityKind::Bytes)
    }

    /// Replace this (empty) table's entries with a copy of `other`'s: two bulk copies instead
    /// of one push per entry. On a capacity error the table is unchanged.
    pub(crate) fn copy_from(&mut self, other: &Table<'_>) -> Result<(), CapacityError> {
        debug_assert_eq!(self.count, 0);
        self.slots.ensure(other.count, CapacityKind::Slots)?;
        self.bytes.ensure(other.used, CapacityKind::Bytes)?;
        self.bytes.as_mut_slice()[..other.used]
            .copy_from_slice(&other.bytes.as_slice()[..other.used]);
        self.slots.as_mut_slice()[..other.count]
            .copy_from_slice(&other.slots.as_slice()[..other.count]);
        self.used = other.used;
        self.count = other.count;
        self.names_seen = other.names_seen;
        Ok(())
    }

    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) -> Result<usize, CapacityError> {
        self.push_bits(name, name_bit(name), value)
    }

    /// [`push`](Self::push) with the name's [`name_bit`] already computed.
    pub(crate) fn push_bits(
        &mut self,
        name: &[u8],
        bits: u64,
        value: &[u8],
    ) -> Result<usize, CapacityError> {
        self.push_with(name, bits, value.len(), |dst| copy_short(dst, value))
    }

    /// Remove the entry at `index`, compacting the arena and keeping the order of the rest.
    pub(crate) fn remove(&mut self, index: usize) {
        let gone = self.slot(index);
        let (start, len) = (gone.start as usize, gone.len());
        relocate(
            self.bytes.as_mut_slice(),
            start + len,
            start,
            self.used - start - len,
        );
        self.used -= len;
        let count = self.count;
        let slots = self.slots.as_mut_slice();
        relocate(slots, index + 1, index, count - index - 1);
        self.count -= 1;
        // The arena holds entries in slot order, so exactly the entries after `index` moved.
        // (Comparing start offsets instead would miss zero-length entries that share one.)
        for s in &mut slots[index..self.count] {
            s.start -= len as u32;
        }
    }

    /// Remove every entry whose name satisfies `eq`; returns how many went.
    pub(crate) fn remove_all(&mut self, mut eq: impl FnMut(&[u8]) -> bool) -> usize {
        let mut removed = 0;
        let mut i = 0;
        while i < self.count {
            if eq(self.name(i)) {
                self.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
        removed
    }

    /// Replace the value at `index`, keeping the entry's position in the order.
    ///
    /// On a capacity error the table is unchanged.
    pub(crate) fn replace_value(
        &mut self,
        index: usize,
        value: &[u8],
    ) -> Result<(), CapacityError> {
        self.resize_value(index, value.len(), &mut |v| v.copy_from_slice(value))
    }

    /// Append `sep` and `extra` to the value at `index` (comma-joining repeated headers).
    ///
    /// On a capacity error the table is unchanged.
    pub(crate) fn extend_value(
        &mut self,
        index: usize,
        sep: &[u8],
        extra: &[u8],
    ) -> Result<(), CapacityError> {
        let old_len = self.slot(index).value_len as usize;
        let new_len = old_len + sep.len() + extra.len();
        self.resize_value(index, new_len, &mut |v| {
            v[old_len..old_len + sep.len()].copy_from_slice(sep);
            v[old_len + sep.len()..].copy_from_slice(extra);
        })
    }

    /// Resize the value at `index` in place to `new_len` bytes, moving the bytes after it, then
    /// let `fill` write the value. The value's start does not move, so bytes of the old value
    /// that `fill` does not touch are still there (that is how `extend_value` appends).
    ///
    /// Takes `fill` as `&mut dyn FnMut` and stays out of line: its two callers (replacing and
    /// extending a value) then share one copy, which saved flash on a microcontroller; both
    /// are off the per-request path (a repeated header, a base variable the request sets).
    #[inline(never)]
    fn resize_value(
        &mut self,
        index: usize,
        new_len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), CapacityError> {
        let old = self.slot(index);
        let value_start = old.start as usize + old.name_len as usize;
        let old_end = value_start + old.value_len as usize;
        let new_end = value_start + new_len;
        let new_used = self.used - old.value_len as usize + new_len;
        if new_used > self.bytes.as_slice().len() || new_used > u32::MAX as usize {
            self.make_room(new_used, self.count)?;
        }
        let arena = self.bytes.as_mut_slice();
        relocate(arena, old_end, new_end, self.used - old_end);
        fill(&mut arena[value_start..new_end]);
        self.used = new_used;
        let count = self.count;
        let slots = self.slots.as_mut_slice();
        // The arena holds entries in slot order, so exactly the entries after `index` moved.
        // Comparing start offsets instead would miss a zero-length entry that starts where
        // this one does, leaving it pointing into the resized value.
        for s in &mut slots[index + 1..count] {
            s.start = (s.start as usize + new_end - old_end) as u32;
        }
        slots[index].value_len = new_len as u32;
        Ok(())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        // Walk the slots themselves: `name(i)`/`value(i)` per index re-check the index and
        // look the slot up again.
        let arena = self.bytes.as_slice();
        self.slots.as_slice()[..self.count].iter().map(move |s| {
            let start = s.start as usize;
            let mid = start + s.name_len as usize;
            (&arena[start..mid], &arena[mid..mid + s.value_len as usize])
        })
    }

    /// Lend this table's entries to a shorter-lived table, so that an `Environ` can be
    /// rebuilt around them with shorter-lived streams (`Environ::with_input`). Until
    /// [`take_back`](Self::take_back) this table reads as empty, so if the borrower panics it
    /// is left empty but consistent.
    pub(crate) fn lend(&mut self) -> Table<'_> {
        let (used, count, names_seen) = (self.used, self.count, self.names_seen);
        self.clear();
        Table {
            bytes: self.bytes.lend(),
            used,
            slots: self.slots.lend(),
            count,
            names_seen,
        }
    }

    /// Take back the entries of a table made by [`lend`](Self::lend), with whatever the
    /// borrower changed. `lent` must come from this table's `lend`.
    pub(crate) fn take_back(&mut self, lent: Returned) {
        self.used = lent.used;
        self.count = lent.count;
        self.names_seen = lent.names_seen;
        #[cfg(feature = "alloc")]
        if let Some((bytes, slots)) = lent.vecs {
            self.bytes.take_back(bytes);
            self.slots.take_back(slots);
        }
    }

    /// End a lent table's borrow, keeping what must go back to the lender.
    pub(crate) fn give_back(self) -> Returned {
        Returned {
            used: self.used,
            count: self.count,
            names_seen: self.names_seen,
            #[cfg(feature = "alloc")]
            vecs: match (self.bytes, self.slots) {
                (Store::Grow { vec: b, .. }, Store::Grow { vec: s, .. }) => Some((b, s)),
                _ => None,
            },
        }
    }
}

/// What a lent [`Table`] hands back to its lender: its counters and, for growable storage,
/// its vectors. It owns no borrow, which is what lets the lender be written to again.
pub(crate) struct Returned {
    used: usize,
    count: usize,
    names_seen: u64,
    #[cfg(feature = "alloc")]
    vecs: Option<(Vec<u8>, Vec<Slot>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_invariants(t: &Table<'_>) {
        // Spans are disjoint, inside `used`, and cover it exactly (no leaked bytes).
        let total: usize = (0..t.len()).map(|i| t.slot(i).len()).sum();
        assert_eq!(total, t.bytes_used());
    }

    /// `find` agrees with a plain scan whatever the Bloom filter says: many names (so bits
    /// collide), removals (stale bits), `clear`, a bulk copy, and zero-length names.
    #[test]
    fn find_agrees_with_a_scan() {
        let mut bytes = [0u8; 4096];
        let mut slots = [Slot::EMPTY; 128];
        let mut t = Table::fixed(&mut bytes, &mut slots);
        let scan = |t: &Table<'_>, name: &[u8]| t.position(|n| n == name);
        let mut names: std::vec::Vec<std::vec::Vec<u8>> = std::vec::Vec::new();
        for i in 0..100u32 {
            let name = std::format!("K{}_{}", i * 7919 % 1000, (b'A' + (i % 26) as u8) as char);
            names.push(name.into_bytes());
        }
        names.push(std::vec::Vec::new());
        for (i, name) in names.iter().enumerate() {
            if i % 3 != 0 {
                t.push(name, b"v").unwrap();
            }
        }
        let probes =
            names
                .iter()
                .cloned()
                .chain([b"k1_b".to_vec(), b"HTTP_HOST".to_vec(), b"x".to_vec()]);
        for name in probes.clone() {
            assert_eq!(t.find(&name), scan(&t, &name), "{name:?}");
        }
        for _ in 0..30 {
            t.remove(t.len() / 2);
        }
        for name in probes.clone() {
            assert_eq!(t.find(&name), scan(&t, &name), "{name:?} after removals");
        }
        let mut bytes2 = [0u8; 4096];
        let mut slots2 = [Slot::EMPTY; 128];
        let mut copy = Table::fixed(&mut bytes2, &mut slots2);
        copy.copy_from(&t).unwrap();
        for name in probes.clone() {
            assert_eq!(copy.find(&name), scan(&t, &name), "{name:?} in a copy");
        }
        t.clear();
        t.push(b"ONE", b"1").unwrap();
        assert_eq!(t.find(b"ONE"), Some(0));
        assert_eq!(t.find(names[1].as_slice()), None);
    }

    #[test]
    fn copy_from_checks_capacity_first() {
        let mut bytes = [0u8; 64];
        let mut slots = [Slot::EMPTY; 4];
        let mut t = Table::fixed(&mut bytes, &mut slots);
        t.push(b"A", b"1").unwrap();
        t.push(b"B", b"2").unwrap();
        let mut small_bytes = [0u8; 3];
        let mut small_slots = [Slot::EMPTY; 4];
        let mut small = Table::fixed(&mut small_bytes, &mut small_slots);
        assert_eq!(small.copy_from(&t).unwrap_err().kind, CapacityKind::Bytes);
        assert_eq!(small.len(), 0);
        assert_eq!(small.find(b"A"), None);
    }

    #[test]
    fn push_remove_replace_keep_order_and_compact() {
        let mut bytes = [0u8; 64];
        let mut slots = [Slot::EMPTY; 4];
        let mut t = Table::fixed(&mut bytes, &mut slots);
        t.push(b"A", b"1").unwrap();
        t.push(b"B", b"22").unwrap();
        t.push(b"C", b"333").unwrap();
        t.replace_value(0, b"xxxx").unwrap();
        check_invariants(&t);
        assert_eq!(
            t.iter().collect::<heapless::Vec<_, 4>>()[..],
            [(&b"A"[..], &b"xxxx"[..]), (b"B", b"22"), (b"C", b"333")]
        );
        t.extend_value(1, b",", b"z").unwrap();
        check_invariants(&t);
        assert_eq!(t.value(1), b"22,z");
        t.remove(0);
        check_invariants(&t);
        assert_eq!(t.name(0), b"B");
        assert_eq!(t.value(1), b"333");
        assert_eq!(t.remove_all(|n| n == b"C"), 1);
        check_invariants(&t);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn failed_operations_change_nothing() {
        let mut bytes = [0u8; 8];
        let mut slots = [Slot::EMPTY; 2];
        let mut t = Table::fixed(&mut bytes, &mut slots);
        t.push(b"AB", b"cd").unwrap();
        let err = t.push(b"EF", b"ghijk").unwrap_err();
        assert_eq!(err.kind, CapacityKind::Bytes);
        assert_eq!((err.needed, err.capacity), (11, 8));
        assert!(t.replace_value(0, b"0123456").is_err());
        assert!(t.extend_value(0, b",", b"01").is_ok());
        assert_eq!(t.value(0), b"cd,01");
        assert!(t.extend_value(0, b",", b"x").is_err());
        assert_eq!(t.value(0), b"cd,01");
        check_invariants(&t);
        t.push(b"", b"").unwrap();
        let err = t.push(b"", b"").unwrap_err();
        assert_eq!(err.kind, CapacityKind::Slots);
    }

    #[test]
    fn zero_length_entries_keep_their_place() {
        // Entries of zero length share their start offset with the next entry; resizing or
        // removing one must move exactly the entries after it.
        let mut bytes = [0u8; 32];
        let mut slots = [Slot::EMPTY; 4];
        let mut t = Table::fixed(&mut bytes, &mut slots);
        t.push(b"", b"").unwrap();
        t.push(b"", b"x").unwrap();
        t.push(b"", b"").unwrap();
        t.replace_value(0, b"abc").unwrap();
        check_invariants(&t);
        assert_eq!(
            [t.value(0), t.value(1), t.value(2)],
            [&b"abc"[..], b"x", b""]
        );
        t.extend_value(2, b",", b"z").unwrap();
        t.replace_value(0, b"").unwrap();
        check_invariants(&t);
        assert_eq!(
            [t.value(0), t.value(1), t.value(2)],
            [&b""[..], b"x", b",z"]
        );
        t.remove(0);
        check_invariants(&t);
        assert_eq!([t.value(0), t.value(1)], [&b"x"[..], b",z"]);
        t.remove(0);
        assert_eq!(t.value(0), b",z");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_respects_its_limit() {
        let mut t = Table::growable(10, 100);
        t.push(b"K", b"123456789").unwrap();
        assert!(t.push(b"", b"x").is_err());
        assert_eq!(t.len(), 1);
    }
}
