//! `control`: structured control flow (block, loop, if with results; br, br_if, br_table;
//! select; unreachable). Filled by the Wasm round-trip issue; its region model is fixed now in
//! specs/core.md ("Regions and structured control"): one block per region, values flowing out
//! through `control.yield`, and branches naming an enclosing construct by depth.
