// A job's argument of the wrong type is a compile error, not a failure at run time.
use bgtasks::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SendInvoice {
    invoice: u64,
}

impl JobType for SendInvoice {
    const TYPE: &'static str = "send-invoice";
}

async fn queue(runtime: &Runtime) {
    let _ = runtime.enqueue(SendInvoice { invoice: "42" }).await;
}

fn main() {}
