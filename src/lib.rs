//! pipedesk: a help desk that lives inside the mail system.
//!
//! A message flows one way: bytes → taken in (`intake`: the size limit,
//! the recipient, the envelope sender) → parsed facts (`inbound`) → route
//! (`route`, `address`, `tag`) → one transaction of the desk (`desk`) on a
//! store (`store`: SQLite or PostgreSQL) holding the ticket change and its
//! outbox → send (`outbound`). The commands for people (`commands`) and
//! the web (`web`) are front ends of the same desk: they parse input, call
//! one of its operations, and render a view (`view`, `term`).

pub mod address;
pub mod calendar;
pub mod canned;
pub mod cli;
pub mod commands;
pub mod config;
pub mod desk;
pub mod exit;
pub mod forward;
pub mod inbound;
pub mod intake;
pub mod mailbox;
pub mod model;
pub mod outbound;
pub mod people;
pub mod route;
pub mod rules;
pub mod sla;
pub mod store;
pub mod tag;
pub mod term;
pub mod view;
pub mod web;
pub mod zone;
