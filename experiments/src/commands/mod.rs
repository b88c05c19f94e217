//! The subcommands, one file each (`bench` lives in `crate::bench`).

pub mod data;
pub mod explain;
pub mod models;
pub mod report;
pub mod run;
