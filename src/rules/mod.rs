//! The decision engine: a pure function from a baseline and an inventory (and `now`) to a
//! decision for every candidate version and a state for every package. No I/O.

mod engine;
pub mod patterns;

pub use engine::*;

#[cfg(test)]
mod tests;
