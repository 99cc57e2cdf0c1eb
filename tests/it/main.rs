//! One integration-test binary (ripgrep style); each module is one area.
//!
//! Tests that need a tool this machine lacks (dnf, rpmbuild, apt-ftparchive, …) print
//! `SKIP <test>: <reason>` and return; CI installs every tool, so in CI they run.

mod apt;
mod aws;
mod baseline;
mod cli;
mod common;
mod dnf;
mod install_apt;
mod install_dnf;
mod packaging;
mod reboot;
mod ssm_document;
mod state;
mod version;
mod yum;
