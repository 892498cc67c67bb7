//! pipedesk: a help desk that lives inside the mail system.
//!
//! A message flows one way: bytes → parsed facts (`inbound`) → route
//! (`route`) → one database transaction holding the ticket change and the
//! outbox (`desk`, `store`) → send (`outbound`).

pub mod cli;
pub mod commands;
pub mod config;
pub mod desk;
pub mod exit;
pub mod inbound;
pub mod outbound;
pub mod route;
pub mod sanitize;
pub mod store;
