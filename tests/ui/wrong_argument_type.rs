// A job queued with arguments of another type does not compile: the job type is the
// argument type.
use bgtasks::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SendInvoice {
    invoice: u64,
}

impl JobType for SendInvoice {
    const TYPE: &'static str = "send-invoice";
}

#[derive(Serialize, Deserialize)]
struct Ping(u32);

impl JobType for Ping {
    const TYPE: &'static str = "ping";
}

async fn queue(runtime: &Runtime) {
    let _ = runtime.enqueue::<SendInvoice>(Ping(1)).await;
}

fn main() {}
