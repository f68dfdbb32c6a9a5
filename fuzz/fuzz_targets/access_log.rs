#![no_main]
// Fuzz target: see tenantsim::fuzzing::access_log.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tenantsim::fuzzing::access_log(data));
