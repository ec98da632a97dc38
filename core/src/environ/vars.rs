//! [`Vars`]: the variables of an [`Environ`](super::Environ), written out at once or left in
//! the request head until something needs them.
//!
//! Why: writing a request's variables out (the server's base, `REQUEST_METHOD`, `PATH_INFO`,
//! one `HTTP_*` key per header field...) cost more than parsing the request
//! (`bench/instructions.sh`), while most applications read a handful of them. The sans-IO
//! session's per-request environ therefore starts [`Deferred`]: `get` answers from where the
//! wire machine left the request (a [`Source`]: for HTTP/1, the parsed head and the base), and
//! the table is written only when an operation needs it (iteration, a change, a value that
//! must be joined or decoded). The table is then the one an eager build makes, in the same
//! order.
//!
//! [`Source`] is the one seam between an environ and the machine above it: this module knows
//! no protocol. The HTTP/1 request view implements it in `proto`; a gateway protocol's params
//! implement it in `gateway`. `Deferred` is generic over it, so each source's `fill` is
//! compiled into the deferred state's own methods.
//!
//! The deferred state lives in the exchange's frame and the environ holds it by a `&mut dyn`
//! reference: an environ that is never deferred (every environ of the blocking `Connection`,
//! the CGI handlers, the tests) stays small, and a program that never defers links none of
//! this code. `get` is the exception to the vtable: the vtable hands back the source itself
//! ([`Source::in_place`]), typed as [`InPlace`], the one source the crate binds at compile
//! time in `crate::wire`, and the environ calls its `get` directly. A method reached through
//! a vtable is linked whole, where a direct call is inlined into the application and its
//! constant key folds the source's match down to one arm: 1.5 KB of Cortex-M flash for an
//! application that routes on `PATH_INFO` (`embedded/ci.sh footprint`). `environ` still
//! imports nothing from `proto` or `gateway`; `wire` names the source. The write-out can happen through `&self` (an application that iterates a
//! `&Environ`), so the written table sits in a [`OnceCell`]; that, and the `&mut`, make
//! `Environ` invariant in its lifetime (see [`Environ::shorten`](super::Environ::shorten)).

use core::cell::{Cell, OnceCell};

use crate::storage::{Slot, Table};
use crate::wire::InPlace;

/// What a wire machine gives an environ whose variables it has not written out: the seam
/// between [`Environ`](super::Environ) and every protocol above it.
///
/// Both methods must describe the same variables: `get(key)` answers what the environ that
/// `fill` writes out would hold under `key`, or says [`Lookup::Build`] when that is not a
/// plain slice of what the source holds (a value that must be joined or decoded). Property
/// tests beside each implementation compare the two.
pub(crate) trait Source<'a> {
    /// The value `fill` would give `key`, without writing anything out. By default
    /// [`Lookup::Build`]: a source that cannot answer in place is written out first.
    fn get(&self, key: &[u8]) -> Lookup<'a> {
        let _ = key;
        Lookup::Build
    }
    /// Write every variable into `environ` (empty), in the order the protocol gives them.
    /// The caller checked beforehand that they fit; were they not to, what fits is kept.
    fn fill(&self, environ: &mut super::Environ<'_>);
    /// This source as the crate's [`InPlace`] source, when it is that one: the environ then
    /// calls its `get` directly rather than through the deferred state's vtable. By default
    /// `None`, and every lookup looks in the written-out table.
    fn in_place(&self) -> Option<&InPlace<'a>> {
        None
    }
}

/// What [`Source::get`] found.
pub(crate) enum Lookup<'a> {
    /// The value (or its absence), as the written-out environ would have it.
    Found(Option<&'a [u8]>),
    /// Not a plain slice: write the environ out and look there.
    Build,
}

/// The memory a deferred table will be written into.
type Storage<'a> = (&'a mut [u8], &'a mut [Slot]);

/// A session's per-request variables before they are written out: where they come from,
/// where they will be written.
pub(crate) struct Deferred<'a, S> {
    /// The table written out through a shared reference.
    built: OnceCell<Table<'a>>,
    /// The memory to write into, until the write-out takes it.
    waiting: Cell<Option<Storage<'a>>>,
    pub(crate) source: S,
}

impl<'a, S: Source<'a>> Deferred<'a, S> {
    /// The variables of `source`, to be written into `bytes` and `slots` (which the caller
    /// checked they fit).
    pub(crate) fn new(bytes: &'a mut [u8], slots: &'a mut [Slot], source: S) -> Self {
        Deferred {
            built: OnceCell::new(),
            waiting: Cell::new(Some((bytes, slots))),
            source,
        }
    }

    /// Write the variables out. Out of line and cold: an application that never needs the
    /// table should not carry this code inline, and one that does needs it once.
    #[cold]
    #[inline(never)]
    fn write_out(&self) -> Table<'a> {
        let Some((bytes, slots)) = self.waiting.take() else {
            // Unreachable: the memory is taken once, by the one write-out.
            return Table::fixed(&mut [], &mut []);
        };
        let mut environ = super::Environ::fixed(bytes, slots);
        self.source.fill(&mut environ);
        environ.vars.into_table()
    }
}

/// What an environ asks of its deferred state (a trait so that the environ reaches it through
/// a vtable, which only a program that defers builds).
trait Pending<'a> {
    /// The source that answers in place, while the variables are not written out (and the
    /// source is the crate's [`InPlace`] one).
    fn in_place(&self) -> Option<&InPlace<'a>>;
    /// The written-out table (writing it now if need be).
    fn table(&self) -> &Table<'a>;
    /// The written-out table, moved out (writing it now if need be).
    fn take(&mut self) -> Table<'a>;
}

impl<'a, S: Source<'a>> Pending<'a> for Deferred<'a, S> {
    fn in_place(&self) -> Option<&InPlace<'a>> {
        match self.built.get() {
            None => self.source.in_place(),
            Some(_) => None,
        }
    }

    fn table(&self) -> &Table<'a> {
        self.built.get_or_init(|| self.write_out())
    }

    fn take(&mut self) -> Table<'a> {
        match self.built.take() {
            Some(table) => table,
            None => self.write_out(),
        }
    }
}

pub(super) struct Vars<'a> {
    /// The table; an empty stand-in while the variables are deferred.
    table: Table<'a>,
    /// Set while the variables are not written out into `table`.
    deferred: Option<&'a mut dyn Pending<'a>>,
}

impl<'a> Vars<'a> {
    pub(super) fn ready(table: Table<'a>) -> Self {
        Vars {
            table,
            deferred: None,
        }
    }

    pub(super) fn deferred<S: Source<'a>>(deferred: &'a mut Deferred<'a, S>) -> Self {
        Vars {
            table: Table::fixed(&mut [], &mut []),
            deferred: Some(deferred),
        }
    }

    /// The source's answer for `key` while the variables are not written out; `Build` (look
    /// in the table) when they are.
    #[inline]
    pub(super) fn lookup(&self, key: &[u8]) -> Lookup<'a> {
        match self.deferred.as_ref().and_then(|d| d.in_place()) {
            None => Lookup::Build,
            // Through the trait, so that `InPlace` may be any source (an enum of several).
            Some(source) => Source::get(source, key),
        }
    }

    /// The table if it is written out, without writing it.
    pub(super) fn ready_table(&self) -> Option<&Table<'a>> {
        match &self.deferred {
            None => Some(&self.table),
            Some(_) => None,
        }
    }

    // Out of line (both accessors): every variable operation goes through one, and inlined,
    // the deferred check at each of the environ build's dozen call sites cost about 400 B of
    // Cortex-M flash.
    #[inline(never)]
    pub(super) fn table(&self) -> &Table<'a> {
        match &self.deferred {
            None => &self.table,
            Some(d) => d.table(),
        }
    }

    #[inline(never)]
    pub(super) fn table_mut(&mut self) -> &mut Table<'a> {
        if let Some(d) = self.deferred.take() {
            self.table = d.take();
        }
        &mut self.table
    }

    pub(super) fn into_table(mut self) -> Table<'a> {
        let _ = self.table_mut();
        self.table
    }

    /// The same variables, typed with a shorter lifetime (a deferred environ is written out
    /// first: the table is covariant, the reference to the deferred state is not).
    pub(super) fn shorten<'b>(self) -> Vars<'b>
    where
        'a: 'b,
    {
        Vars::ready(self.into_table())
    }
}
