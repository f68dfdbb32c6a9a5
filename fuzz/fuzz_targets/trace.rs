#![no_main]
// Fuzz target: see tenantsim::fuzzing::trace.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tenantsim::fuzzing::trace(data));
