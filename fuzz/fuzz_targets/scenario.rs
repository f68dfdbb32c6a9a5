#![no_main]
// Fuzz target: see tenantsim::fuzzing::scenario.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tenantsim::fuzzing::scenario(data));
