#![no_main]
// Fuzz target: see tenantsim::fuzzing::prometheus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tenantsim::fuzzing::prometheus(data));
