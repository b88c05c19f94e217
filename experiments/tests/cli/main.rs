//! The `distillery` binary as a user runs it: every subcommand's help, the files `run`
//! promises, resuming, determinism, errors naming the problem and the fix, `verify`'s exit
//! code, sharded `reproduce` merged by `report` equal to one machine's run, and the S1 and S4
//! code, sharded `reproduce` merged by `report` equal to one machine's run, the S4
//! experiments' quick forms and checks, and `w1-estimators` (S0) in its quick form.
//! experiments' quick forms and checks.
//!
//! Every command runs in a fresh temporary directory with HOME and XDG_CACHE_HOME pointing
//! into it and DISTILLERY_DATA unset, so that no data set of this machine is found.

mod sandbox;

mod bayes_distill;
mod distill;
mod errors;
mod explain;
mod hypernet;
mod meta_distill;
mod multidomain;
mod reproduce;
mod resume;
mod run;
mod transfer;
mod verify_data_help;
mod w1_estimators;
