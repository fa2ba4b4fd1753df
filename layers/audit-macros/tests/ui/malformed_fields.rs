use warden_audit_macros::audited;

#[audited(fields(tenant))]
fn refund(order_id: u64) {}

fn main() {
    refund(1);
}
