//! patchbaseline: AWS Systems Manager patch baselines applied on one Linux host or image.
//!
//! Layers, from data up to commands: [`model`] and [`baseline`] (types, no I/O), [`version`],
//! [`rules`] (the pure decision engine), [`report`], then [`system`], [`exec`] and [`backend`]
//! (the only code that touches the system), and [`app`] which wires a command together.

pub mod app;
pub mod backend;
pub mod baseline;
pub mod cli;
pub mod error;
pub mod exec;
pub mod fsutil;
pub mod install;
pub mod lock;
pub mod model;
pub mod reboot;
pub mod report;
pub mod rules;
pub mod signals;
pub mod state;
pub mod system;
pub mod version;
