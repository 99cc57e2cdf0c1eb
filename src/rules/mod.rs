//! The decision engine (stub).
