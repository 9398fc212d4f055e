//! The FileChecks harness: a local world (moto_server, an in-process FTPS server, vsftpd) in
//! which the pipeline's real handlers run with SDK clients pointed at the emulators.

pub mod aws;
pub mod ftps_server;
pub mod moto;
pub mod pattern;
pub mod pki;
pub mod sfn;
pub mod template;
pub mod vsftpd;
pub mod workflow;
pub mod pipe;
pub mod world;
pub mod scenario;
pub mod runner;
