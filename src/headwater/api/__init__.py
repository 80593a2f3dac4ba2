"""The HTTP edge: Flow Service and IMS routes, thin over the services."""
