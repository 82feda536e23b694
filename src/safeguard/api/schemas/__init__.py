"""Request and response types of the REST API, one module per role."""
