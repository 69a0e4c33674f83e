//! Local peers that speak the providers' documented protocols at any size, with a fixed
//! latency per call and the provider's throttling: the scale benchmark (`collectors/bench`)
//! and the tests that count requests run against them. Compiled only with the `peers`
//! feature.

pub mod organizations;
