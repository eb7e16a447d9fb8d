// Only job types can be queued: a bare value names no job type.
use bgtasks::prelude::*;

async fn queue(runtime: &Runtime) {
    let _ = runtime.enqueue(42_u64).await;
}

fn main() {}
