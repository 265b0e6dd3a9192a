"""Balie: a chatbot front desk for municipal tax departments."""
