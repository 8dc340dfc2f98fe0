//! Spate's end-to-end tests, one module per subject, in one test binary:
//! the `spate` binary (and `core-driver`) against real clients (kcat,
//! confluent-kafka, kafka-python, kafkajs, a browser), real ZooKeeper and
//! Redis servers, and real files.
//!
//! One binary rather than one per file: the files shared a link of the
//! same dependencies each, and ran one after another, so a file with one
//! long test left the other core idle. Here libtest runs any two tests at
//! once. Run one subject with `cargo test -p spate-e2e --test e2e
//! cluster_tls::`.

mod cli_oauth;
mod cli_security;
mod client_cli;
mod cluster_admin;
mod cluster_broker_configs;
mod cluster_elect;
mod cluster_failover;
mod cluster_faults;
mod cluster_groups;
mod cluster_partitions;
mod cluster_reassign;
mod cluster_script;
mod cluster_security;
mod cluster_shutdown;
mod cluster_tls;
mod cluster_txn;
mod cluster_zk;
mod cluster_zombie;
mod connect;
mod connect_redis;
mod connection_limits;
mod core_driver;
mod decode_cli;
mod disk_full;
mod embed_cluster;
mod groups;
mod kraft_dir;
mod many_connections;
mod metrics;
mod playground;
mod playground_look;
mod playground_server;
mod playground_views;
mod request_log;
mod sasl;
mod serve_clients;
mod serve_compaction;
mod serve_durability;
mod serve_security_admin;
mod slow_clients;
mod tls;
mod top;
mod transactions;
mod transactions_cli;
