//! The FileChecks harness: a local world (moto_server, an in-process FTPS server, vsftpd) in
//! which the pipeline's real handlers run with SDK clients pointed at the emulators.

pub mod aws;
pub mod external_ftps;
pub mod from_item;
pub mod ftps_server;
pub mod moto;
pub mod pattern;
pub mod pipe;
pub mod pki;
pub mod runner;
pub mod scenario;
pub mod sfn;
pub mod template;
pub mod vsftpd;
pub mod workflow;
pub mod world;
