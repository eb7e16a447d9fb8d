//! Typed arguments for property tests of a store: random serde values — nested structs,
//! an enum with data, maps, unicode and control characters (NUL among them), numbers at
//! the edges of their types, big strings — turned into a job's [`JobArgs`] and read back
//! from the job a store returns.
//!
//! ```
//! use bgtasks_store_conformance::typed_args::{Invoice, invoices, job_of, read_back, runner};
//!
//! runner(8)
//!     .run(&invoices(), |invoice: Invoice| {
//!         let job = job_of("invoice-1", &invoice).expect("an object");
//!         // … insert `job` into a store and find it again …
//!         assert_eq!(read_back(&job).expect("it deserializes"), invoice);
//!         Ok(())
//!     })
//!     .expect("every case round-trips");
//! ```

use std::collections::BTreeMap;

use bgtasks_abstractions::{JobArgs, JobInfo, JobStatus};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The arguments of a job, as a service would type them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// A number up to `u64::MAX`.
    pub number: u64,
    /// A nested struct.
    pub customer: Customer,
    /// Nested structs in a list.
    pub lines: Vec<Line>,
    /// An optional string.
    pub note: Option<String>,
    /// A map with arbitrary keys.
    pub tags: BTreeMap<String, String>,
    /// An enum with data.
    pub state: InvoiceState,
    /// A flag.
    pub paid: bool,
}

/// Who an invoice is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Any text.
    pub name: String,
    /// Any `i64`.
    pub balance: i64,
    /// Any finite `f64`.
    pub rate: f64,
    /// A struct two levels down, or none.
    pub address: Option<Address>,
}

/// Where a customer lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// Lines of text.
    pub lines: Vec<String>,
    /// A small number.
    pub floor: i16,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Any text.
    pub sku: String,
    /// Any `u32`.
    pub quantity: u32,
    /// Any finite `f64`.
    pub price: f64,
    /// Numbers at the edges of `i64`.
    pub extra: Vec<i64>,
}

/// Where an invoice stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InvoiceState {
    /// No data.
    Draft,
    /// A struct variant.
    Sent {
        /// To whom.
        to: String,
        /// How many times.
        times: u8,
    },
    /// A newtype variant.
    Refunded(f64),
}

/// Text of every kind: printable unicode, anything Rust holds, control characters with
/// quotes and backslashes (NUL among them), and big strings (up to about 200 KB).
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => any::<String>(),
        1 => "[\\x00-\\x1f\"\\\\/\u{7f}\u{2028}\u{fffd}]{0,8}",
        1 => ("\\PC{1,6}", 1_000usize..8_000).prop_map(|(unit, times)| unit.repeat(times)),
    ]
}

/// Any `i64`, the edges often.
pub fn int64() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => any::<i64>(),
        1 => prop::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX]),
    ]
}

/// Any `u64`, the edges often.
pub fn uint64() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        1 => prop::sample::select(vec![0, 1, u64::from(u32::MAX), i64::MAX as u64 + 1, u64::MAX]),
    ]
}

/// Any finite `f64` (JSON has no NaN nor infinity), the edges often: the largest and
/// smallest, subnormals, negative zero, values with no short decimal form.
pub fn float64() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as float;
    prop_oneof![
        3 => float::POSITIVE | float::NEGATIVE | float::NORMAL | float::SUBNORMAL | float::ZERO,
        1 => prop::sample::select(vec![
            f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, -5e-324, f64::EPSILON, -0.0, 0.1,
            1e300, 1e-300, 9_007_199_254_740_993.0, 2f64.powi(63), 1.0 / 3.0,
        ]),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    (prop::collection::vec(text(), 0..3), any::<i16>())
        .prop_map(|(lines, floor)| Address { lines, floor })
}

fn customer() -> impl Strategy<Value = Customer> {
    (text(), int64(), float64(), prop::option::of(address())).prop_map(
        |(name, balance, rate, address)| Customer {
            name,
            balance,
            rate,
            address,
        },
    )
}

fn line() -> impl Strategy<Value = Line> {
    (
        text(),
        any::<u32>(),
        float64(),
        prop::collection::vec(int64(), 0..4),
    )
        .prop_map(|(sku, quantity, price, extra)| Line {
            sku,
            quantity,
            price,
            extra,
        })
}

fn state() -> impl Strategy<Value = InvoiceState> {
    prop_oneof![
        Just(InvoiceState::Draft),
        (text(), any::<u8>()).prop_map(|(to, times)| InvoiceState::Sent { to, times }),
        float64().prop_map(InvoiceState::Refunded),
    ]
}

/// Random invoices.
pub fn invoices() -> impl Strategy<Value = Invoice> {
    (
        uint64(),
        customer(),
        prop::collection::vec(line(), 0..4),
        prop::option::of(text()),
        prop::collection::btree_map(text(), text(), 0..4),
        state(),
        any::<bool>(),
    )
        .prop_map(
            |(number, customer, lines, note, tags, state, paid)| Invoice {
                number,
                customer,
                lines,
                note,
                tags,
                state,
                paid,
            },
        )
}

/// A runner of `cases` cases that writes no regression files.
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A Once job `id` of type "invoice" with `invoice` as its arguments, prepared as the
/// runtime queues it (Queuing, due at its begin time).
pub fn job_of(id: &str, invoice: &Invoice) -> Result<JobInfo, String> {
    let value = serde_json::to_value(invoice).map_err(|e| e.to_string())?;
    let args = JobArgs::from_value(value).map_err(|e| e.to_string())?;
    let mut job = JobInfo::once(id, "invoice");
    job.args = args;
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(job.begin_time);
    Ok(job)
}

/// The invoice in a job's arguments.
pub fn read_back(job: &JobInfo) -> Result<Invoice, serde_json::Error> {
    serde_json::from_value(Value::Object(job.args.as_map().clone()))
}

/// Whether a string or a key anywhere in `value` holds the NUL character.
pub fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Whether a job's arguments are larger than a job may carry.
pub fn too_large(job: &JobInfo) -> bool {
    serde_json::to_vec(&job.args).map_or(true, |json| {
        json.len() > bgtasks_abstractions::MAX_ARGS_BYTES
    })
}
