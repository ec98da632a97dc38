//! Environ utilities: Python's `wsgiref.util`.
