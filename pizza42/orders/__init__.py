"""The orders domain: what an order is, what it costs, and the customer's profile."""
