//! Slipway's integration tests: one binary, the real server over HTTP on an ephemeral
//! port, real SQLite files, real git repositories, real child processes and a real
//! headless Chromium.

mod accounts;
mod api;
mod api_properties;
mod approvals;
mod artifacts;
mod assets;
mod auth;
mod board;
mod board_cache;
mod browser;
mod calendar;
mod ci_check;
mod cli;
mod confirm;
mod connections;
mod crash;
mod deployer;
mod drift;
mod github;
mod github_api;
mod github_deploys;
mod governance;
mod health;
mod http_deployer;
mod insights;
mod live;
mod matrix;
mod migrations;
mod mirror;
mod operations;
mod package;
mod promotion;
mod replicas;
mod retries;
mod verify;
mod webhooks;
mod windows;
