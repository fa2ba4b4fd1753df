use warden_audit_macros::audited;

#[audited(skip(tokn))]
fn refund(order_id: u64, token: &str) {}

fn main() {
    refund(1, "t");
}
