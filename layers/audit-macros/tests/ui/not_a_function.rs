use warden_audit_macros::audited;

#[audited]
struct Refund {
    order_id: u64,
}

fn main() {}
