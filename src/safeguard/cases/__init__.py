"""Cases: escalations, user reports and appeals in a prioritised review queue, with decisions."""
