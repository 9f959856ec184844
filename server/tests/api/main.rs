//! The HTTP surface, through the same router `main` serves: sign-in, the server-function gate,
//! bad input, stale forms, plain form posts, body limits and error hygiene. One test binary.

mod helpers;

mod auth;
mod club;
mod comms;
mod crm;
mod dashboard;
mod health;
mod loyalty;
mod members;
mod portal;
