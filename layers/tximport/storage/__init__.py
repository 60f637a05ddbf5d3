"""Persistence adapters: DynamoDB repositories and S3 staging. Each takes its table or client as an
argument, so tests hand in moto resources or fakes."""
