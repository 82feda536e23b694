"""HTTP routes, one module per role; each is thin and calls the service layer."""
