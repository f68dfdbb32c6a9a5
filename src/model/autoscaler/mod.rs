//! The autoscaler: policies that turn observed metrics into a desired
//! instance count. [`hpa`] is the Kubernetes autoscaling/v2 algorithm as a
//! pure state machine; wiring into the service (sampling metrics every
//! `interval`, starting and draining instances) comes with the instance
//! lifecycle.

pub mod hpa;
