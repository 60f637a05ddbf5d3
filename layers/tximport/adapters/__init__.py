"""Small adapters that keep AWS out of the services (boto3 implementations of their ports)."""
