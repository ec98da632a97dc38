//! [`Vars`]: the variables of an [`Environ`](super::Environ), written out at once or left in
//! the request head until something needs them.
//!
//! Why: writing a request's variables out (the server's base, `REQUEST_METHOD`, `PATH_INFO`,
//! one `HTTP_*` key per header field...) cost more than parsing the request
//! (`bench/instructions.sh`), while most applications read a handful of them. The sans-IO
//! session's per-request environ therefore starts as a [`RequestView`]: `get` answers from the
//! parsed head and the base, and the table is written only when an operation needs it
//! (iteration, a change, a value that must be joined or decoded). The table is then the one
//! an eager build makes, in the same order.
//!
//! The write-out can happen through `&self` (an application that iterates a `&Environ`), so
//! the table sits in a [`OnceCell`]; that makes `Environ` invariant in its lifetime (see
//! [`Environ::shorten`](super::Environ::shorten)).

use core::cell::{Cell, OnceCell};

use crate::proto::view::RequestView;
use crate::storage::{Slot, Table};

/// The memory a deferred table will be written into.
type Storage<'a> = (&'a mut [u8], &'a mut [Slot]);

/// How a deferred table is written out: [`write_out`], reached through this pointer so that
/// a program that never defers an environ (a firmware on the blocking `Connection`, which
/// writes its environ out at once) does not link a second copy of the write-out code.
type WriteOut = for<'x> fn(&Cell<Option<Storage<'x>>>, &RequestView<'x>) -> Table<'x>;

pub(super) struct Vars<'a> {
    /// The table; an empty stand-in while the variables are deferred.
    table: Table<'a>,
    /// Set while the variables are not written out into `table`.
    deferred: Option<Deferred<'a>>,
}

/// A deferred environ's variables: where they come from, where they will be written.
struct Deferred<'a> {
    /// The table written out through a shared reference.
    built: OnceCell<Table<'a>>,
    /// The memory to write into, until the write-out takes it.
    waiting: Cell<Option<Storage<'a>>>,
    view: RequestView<'a>,
    write: WriteOut,
}

impl<'a> Vars<'a> {
    pub(super) fn ready(table: Table<'a>) -> Self {
        Vars {
            table,
            deferred: None,
        }
    }

    pub(super) fn deferred(
        bytes: &'a mut [u8],
        slots: &'a mut [Slot],
        view: RequestView<'a>,
    ) -> Self {
        Vars {
            table: Table::fixed(&mut [], &mut []),
            deferred: Some(Deferred {
                built: OnceCell::new(),
                waiting: Cell::new(Some((bytes, slots))),
                view,
                write: write_out,
            }),
        }
    }

    /// The view, while the variables are not written out.
    pub(super) fn view(&self) -> Option<&RequestView<'a>> {
        match &self.deferred {
            Some(d) if d.built.get().is_none() => Some(&d.view),
            _ => None,
        }
    }

    /// The table if it is written out, without writing it.
    pub(super) fn ready_table(&self) -> Option<&Table<'a>> {
        match &self.deferred {
            None => Some(&self.table),
            Some(d) => d.built.get(),
        }
    }

    // Out of line (both accessors): every variable operation goes through one, and inlined,
    // the deferred check at each of the environ build's dozen call sites cost about 400 B of
    // Cortex-M flash.
    #[inline(never)]
    pub(super) fn table(&self) -> &Table<'a> {
        match &self.deferred {
            None => &self.table,
            Some(d) => d.built.get_or_init(|| (d.write)(&d.waiting, &d.view)),
        }
    }

    #[inline(never)]
    pub(super) fn table_mut(&mut self) -> &mut Table<'a> {
        if self.deferred.is_some() {
            self.settle();
        }
        &mut self.table
    }

    /// Move the variables into `table`, writing them out if no shared access has.
    #[cold]
    #[inline(never)]
    fn settle(&mut self) {
        if let Some(d) = self.deferred.take() {
            self.table = match d.built.into_inner() {
                Some(table) => table,
                None => (d.write)(&d.waiting, &d.view),
            };
        }
    }

    pub(super) fn into_table(mut self) -> Table<'a> {
        self.settle();
        self.table
    }

    /// The same variables, typed with a shorter lifetime (every part is covariant once out
    /// of its cell).
    pub(super) fn shorten<'b>(self) -> Vars<'b>
    where
        'a: 'b,
    {
        Vars {
            table: self.table,
            deferred: self.deferred.map(|d| Deferred {
                built: d
                    .built
                    .into_inner()
                    .map_or_else(OnceCell::new, OnceCell::from),
                waiting: Cell::new(d.waiting.into_inner().map(|(b, s)| (b as _, s as _))),
                view: d.view,
                write: d.write,
            }),
        }
    }
}

/// Write the waiting variables out. Out of line and cold: an application that never needs
/// the table should not carry this code inline, and one that does needs it once.
#[cold]
#[inline(never)]
fn write_out<'a>(waiting: &Cell<Option<Storage<'a>>>, view: &RequestView<'a>) -> Table<'a> {
    let Some((bytes, slots)) = waiting.take() else {
        // Unreachable: the memory is taken once, by the one write-out.
        return Table::fixed(&mut [], &mut []);
    };
    let mut environ = super::Environ::fixed(bytes, slots);
    // The server checked that the variables fit (`RequestView::fits`); were they not to, what
    // fits is kept.
    let _ = view.fill(&mut environ);
    environ.vars.into_table()
}
