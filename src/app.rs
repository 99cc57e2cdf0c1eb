//! Commands wired together (stub).
