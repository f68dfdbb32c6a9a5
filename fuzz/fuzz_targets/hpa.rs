#![no_main]
// Fuzz target: see tenantsim::fuzzing::hpa.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tenantsim::fuzzing::hpa(data));
