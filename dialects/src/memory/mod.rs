//! `memory`: memories (linear, shared, managed) with limits, loads and stores, `memory.check`,
//! typed regions (`Local<T>`, `SharedSlice<T: Pod>`, `ExternRegion<T>`), atomics, data segments.
//! Filled by the round-trip and memory/refs issues.
