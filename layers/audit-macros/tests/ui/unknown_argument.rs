use warden_audit_macros::audited;

#[audited(level = "security")]
fn refund(order_id: u64) {}

fn main() {
    refund(1);
}
