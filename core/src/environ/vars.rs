//! [`Vars`]: the variables of an [`Environ`](super::Environ), written out at once or left in
//! the request head until something needs them.
//!
//! Why: writing a request's variables out (the server's base, `REQUEST_METHOD`, `PATH_INFO`,
//! one `HTTP_*` key per header field...) cost more than parsing the request
//! (`bench/instructions.sh`), while most applications read a handful of them. A server's
//! per-request environ therefore starts as a [`RequestView`]: `get` answers from the parsed
//! head and the base, and the table is written only when an operation needs it (iteration,
//! a change, a value that must be joined or decoded). The table is then the one an eager
//! build makes, in the same order.
//!
//! The write-out can happen through `&self` (an application that iterates a `&Environ`), so
//! the table sits in a [`OnceCell`]; that makes `Environ` invariant in its lifetime (see
//! [`Environ::shorten`](super::Environ::shorten)).

use core::cell::{Cell, OnceCell};

use crate::proto::view::RequestView;
use crate::storage::{Slot, Table};

/// The memory a deferred table will be written into.
type Storage<'a> = (&'a mut [u8], &'a mut [Slot]);

pub(super) struct Vars<'a> {
    /// The table, once written out by a `&mut` operation (or from the start, for an environ
    /// built with `set`).
    ready: Option<Table<'a>>,
    /// The table written out through a shared reference.
    built: OnceCell<Table<'a>>,
    /// The memory to write into, until one of the above has taken it.
    waiting: Cell<Option<Storage<'a>>>,
    /// Where the variables come from, while they are not written out.
    view: Option<RequestView<'a>>,
}

impl<'a> Vars<'a> {
    pub(super) fn ready(table: Table<'a>) -> Self {
        Vars {
            ready: Some(table),
            built: OnceCell::new(),
            waiting: Cell::new(None),
            view: None,
        }
    }

    pub(super) fn deferred(
        bytes: &'a mut [u8],
        slots: &'a mut [Slot],
        view: RequestView<'a>,
    ) -> Self {
        Vars {
            ready: None,
            built: OnceCell::new(),
            waiting: Cell::new(Some((bytes, slots))),
            view: Some(view),
        }
    }

    /// The view, while the variables are not written out.
    pub(super) fn view(&self) -> Option<&RequestView<'a>> {
        match (&self.ready, self.built.get()) {
            (None, None) => self.view.as_ref(),
            _ => None,
        }
    }

    /// The table if it is written out, without writing it.
    pub(super) fn ready_table(&self) -> Option<&Table<'a>> {
        self.ready.as_ref().or(self.built.get())
    }

    pub(super) fn table(&self) -> &Table<'a> {
        match &self.ready {
            Some(table) => table,
            None => self
                .built
                .get_or_init(|| write_out(&self.waiting, self.view.as_ref())),
        }
    }

    pub(super) fn table_mut(&mut self) -> &mut Table<'a> {
        let (built, waiting, view) = (&mut self.built, &self.waiting, self.view.as_ref());
        self.ready
            .get_or_insert_with(|| built.take().unwrap_or_else(|| write_out(waiting, view)))
    }

    pub(super) fn into_table(mut self) -> Table<'a> {
        let _ = self.table_mut();
        self.ready.unwrap_or_else(|| Table::fixed(&mut [], &mut []))
    }

    /// The same variables, typed with a shorter lifetime (every part is covariant once out
    /// of its cell).
    pub(super) fn shorten<'b>(self) -> Vars<'b>
    where
        'a: 'b,
    {
        Vars {
            ready: self.ready,
            built: self
                .built
                .into_inner()
                .map_or_else(OnceCell::new, OnceCell::from),
            waiting: Cell::new(self.waiting.into_inner().map(|(b, s)| (b as _, s as _))),
            view: self.view,
        }
    }
}

/// Write the waiting variables out. Out of line and cold: an application that never needs
/// the table should not carry this code inline, and one that does needs it once.
#[cold]
#[inline(never)]
fn write_out<'a>(waiting: &Cell<Option<Storage<'a>>>, view: Option<&RequestView<'a>>) -> Table<'a> {
    let Some((bytes, slots)) = waiting.take() else {
        // Unreachable: the memory is taken once, by the one write-out.
        return Table::fixed(&mut [], &mut []);
    };
    let mut environ = super::Environ::fixed(bytes, slots);
    if let Some(view) = view {
        // The server checked that the variables fit (`RequestView::fits`); were they not to,
        // what fits is kept.
        let _ = view.fill(&mut environ);
    }
    environ.vars.into_table()
}
