//! Typed jobs: what must not compile does not (R48).

#[test]
fn a_job_queued_with_the_wrong_argument_type_does_not_compile() {
    // spec: R48
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/wrong_argument_type.rs");
    cases.compile_fail("ui/field_of_wrong_type.rs");
    cases.compile_fail("ui/not_a_job_type.rs");
}
